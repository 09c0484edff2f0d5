package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// S3Options configure the S3 benchmark.
type S3Options struct {
	// Bucket is the bucket to write to (default BenchBucket), created if missing.
	Bucket string
	// Size is each object's size in bytes (default 1024).
	Size int
	// Keys is how many distinct objects are written and read (default 100);
	// they are overwritten in turn, so the bucket holds at most that many.
	Keys int
	// Mode is "mixed" (default: PUT and GET alternate), "put" or "get".
	Mode string
}

// BenchBucket is the bucket the S3 benchmark uses by default.
const BenchBucket = "keyless-bench"

// S3 is the small-object PUT/GET benchmark, signed with the root credentials.
type S3 struct {
	t       Target
	hc      *http.Client
	o       S3Options
	signer  *v4.Signer
	creds   aws.Credentials
	body    []byte
	bodySum string
}

// emptySum is the SHA-256 of an empty payload.
const emptySum = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// NewS3 prepares the S3 benchmark against t with up to conns connections:
// the bucket, and every object once so that reads find them.
func NewS3(ctx context.Context, t Target, o S3Options, conns int) (*S3, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	if t.AccessKeyID == "" || t.SecretAccessKey == "" {
		return nil, errors.New("s3 benchmark: no root credentials: pass --data DIR of keyless up, or set KEYLESS_ROOT_ACCESS_KEY_ID and KEYLESS_ROOT_SECRET_ACCESS_KEY")
	}
	if o.Bucket == "" {
		o.Bucket = BenchBucket
	}
	if o.Size <= 0 {
		o.Size = 1024
	}
	if o.Keys <= 0 {
		o.Keys = 100
	}
	switch o.Mode {
	case "":
		o.Mode = "mixed"
	case "mixed", "put", "get":
	default:
		return nil, fmt.Errorf("s3 benchmark: unknown mode %q: use mixed, put or get", o.Mode)
	}
	s := &S3{t: t, hc: t.httpClient(conns), o: o, signer: v4.NewSigner(),
		creds: aws.Credentials{AccessKeyID: t.AccessKeyID, SecretAccessKey: t.SecretAccessKey}}
	s.body = make([]byte, o.Size)
	if _, err := rand.Read(s.body); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(s.body)
	s.bodySum = hex.EncodeToString(sum[:])
	err := s.do(ctx, http.MethodPut, "/"+o.Bucket, nil, emptySum)
	var be *Error
	if err != nil && !(errors.As(err, &be) && be.Code == "BucketAlreadyOwnedByYou") {
		return nil, fmt.Errorf("s3 benchmark: create bucket %s: %w", o.Bucket, err)
	}
	for k := range o.Keys {
		if err := s.do(ctx, http.MethodPut, s.key(int64(k)), s.body, s.bodySum); err != nil {
			return nil, fmt.Errorf("s3 benchmark: write object %d: %w", k, err)
		}
	}
	return s, nil
}

// Bucket is the bucket the benchmark uses.
func (s *S3) Bucket() string { return s.o.Bucket }

func (s *S3) key(n int64) string {
	return "/" + s.o.Bucket + "/bench/" + strconv.FormatInt(n%int64(s.o.Keys), 10)
}

// Op is one PUT or GET of a small object.
func (s *S3) Op(ctx context.Context, _ int, seq int64) error {
	put := s.o.Mode == "put" || s.o.Mode == "mixed" && seq%2 == 0
	if put {
		return s.do(ctx, http.MethodPut, s.key(seq/2), s.body, s.bodySum)
	}
	return s.do(ctx, http.MethodGet, s.key(seq/2), nil, emptySum)
}

// do sends one signed path-style S3 request.
func (s *S3) do(ctx context.Context, method, path string, body []byte, sum string) error {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.t.baseURL()+path, r)
	if err != nil {
		return err
	}
	req.Header.Set("X-Amz-Content-Sha256", sum)
	if err := s.signer.SignHTTP(ctx, s.creds, req, sum, "s3", "us-east-1", time.Now()); err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return err
	}
	return checkAnswer(resp)
}
