package s3sync

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// ManifestName is the deploy manifest's key relative to the prefix.
const ManifestName = ".keyless-deploy.json"

// ManifestFormat identifies the manifest's format version.
const ManifestFormat = "keyless-deploy/1"

// maxManifestSize bounds the manifest read (about 200 bytes a key).
const maxManifestSize = 256 << 20

// manifest is the deploy manifest: what keyless knows of each object it
// synced that a listing does not say.
type manifest struct {
	Format  string           `json:"format"`
	Objects map[string]entry `json:"objects"`
}

// entry is the manifest's record of one object, by key relative to the
// prefix. It is a statement about the object with ETag ETag only: once
// the listing shows another ETag, the entry is stale.
type entry struct {
	// ETag is the object's ETag (unquoted) when keyless last wrote or
	// checked it.
	ETag string `json:"etag"`
	// Headers is the digest (headerSet.digest) of the headers keyless set.
	Headers string `json:"headers"`
	// Content, when the ETag is not the MD5-based ETag of the object's
	// bytes (encryption with KMS, for one), is that MD5-based ETag, as
	// keyless computed it from the bytes it uploaded: what a sync compares
	// the file with instead. Absent when the ETag is that already.
	Content string `json:"content,omitempty"`
}

// parseManifest reads a manifest document.
func parseManifest(b []byte) (manifest, error) {
	var m manifest
	d := json.NewDecoder(bytes.NewReader(b))
	if err := d.Decode(&m); err != nil {
		return manifest{}, fmt.Errorf("parse: %w", err)
	}
	if _, err := d.Token(); err != io.EOF {
		return manifest{}, errors.New("parse: data after the document")
	}
	if m.Format != ManifestFormat {
		return manifest{}, fmt.Errorf("format %q is not %q", m.Format, ManifestFormat)
	}
	for k, e := range m.Objects {
		if e.ETag == "" || strings.Contains(k, "\x00") {
			delete(m.Objects, k)
		}
	}
	return m, nil
}

// encode renders m deterministically (keys sorted), so that an unchanged
// manifest is byte for byte the one read and need not be written.
func (m manifest) encode() []byte {
	m.Format = ManifestFormat
	if m.Objects == nil {
		m.Objects = map[string]entry{}
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err) // strings only: cannot fail
	}
	return append(b, '\n')
}

// readManifest gets the manifest at key: its entries and raw bytes, or
// none when it is missing, unreadable or of another format (the sync then
// writes a new one, and learns headers with HeadObject).
func (s *syncer) readManifest(ctx context.Context, key string) (manifest, []byte, error) {
	out, err := s.api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.o.Bucket), Key: aws.String(key)})
	if err != nil {
		var nsk *types.NoSuchKey
		var ae smithy.APIError
		switch {
		case errors.As(err, &nsk), errors.As(err, &ae) && ae.ErrorCode() == "NoSuchKey":
			return manifest{}, nil, nil
		case errors.As(err, &ae) && ae.ErrorCode() == "AccessDenied":
			return manifest{}, nil, fmt.Errorf("read deploy manifest s3://%s/%s: %w (keyless deploy needs s3:GetObject on the prefix, for the manifest, HeadObject and CopyObject)", s.o.Bucket, key, err)
		}
		return manifest{}, nil, fmt.Errorf("read deploy manifest s3://%s/%s: %w", s.o.Bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(io.LimitReader(out.Body, maxManifestSize+1))
	if err != nil {
		return manifest{}, nil, fmt.Errorf("read deploy manifest s3://%s/%s: %w", s.o.Bucket, key, err)
	}
	if len(b) > maxManifestSize {
		s.o.Logger.Warn("ignoring a deploy manifest larger than the limit; it will be rewritten", "key", key, "limit", maxManifestSize)
		return manifest{}, nil, nil
	}
	m, err := parseManifest(b)
	if err != nil {
		s.o.Logger.Warn("ignoring an unreadable deploy manifest; it will be rewritten", "key", key, "error", err)
		return manifest{}, b, nil
	}
	return m, b, nil
}

// writeManifest puts the manifest at key, private (only an ACL that grants
// the bucket owner is passed on), never cached.
func (s *syncer) writeManifest(ctx context.Context, key string, b []byte) error {
	in := &s3.PutObjectInput{
		Bucket:       aws.String(s.o.Bucket),
		Key:          aws.String(key),
		Body:         bytes.NewReader(b),
		ContentType:  aws.String("application/json"),
		CacheControl: aws.String("no-store"),
	}
	if strings.HasPrefix(s.o.ACL, "bucket-owner-") {
		in.ACL = types.ObjectCannedACL(s.o.ACL)
	}
	if _, err := s.api.PutObject(ctx, in); err != nil {
		return fmt.Errorf("write deploy manifest s3://%s/%s: %w", s.o.Bucket, key, err)
	}
	return nil
}

// headerSet is the headers keyless sets on an object.
type headerSet struct {
	ContentType, CacheControl, ContentEncoding, Expires, ACL, StorageClass string
}

// digest identifies the header set in the manifest: a truncated SHA-256
// of its fields.
func (h headerSet) digest() string {
	sum := sha256.Sum256([]byte(strings.Join([]string{
		"content-type:" + h.ContentType,
		"cache-control:" + h.CacheControl,
		"content-encoding:" + h.ContentEncoding,
		"expires:" + h.Expires,
		"acl:" + h.ACL,
		"storage-class:" + h.StorageClass,
	}, "\n")))
	return hex.EncodeToString(sum[:12])
}

// matches reports whether a HeadObject shows the headers h sets. The ACL
// cannot be seen in a HeadObject and is not compared; an empty Content-Type
// or storage class in h matches S3's defaults.
func (h headerSet) matches(out *s3.HeadObjectOutput) bool {
	ct := aws.ToString(out.ContentType)
	if h.ContentType == "" {
		if ct != "" && ct != "binary/octet-stream" && ct != "application/octet-stream" {
			return false
		}
	} else if ct != h.ContentType {
		return false
	}
	sc := string(out.StorageClass)
	if sc == "" {
		sc = "STANDARD"
	}
	want := h.StorageClass
	if want == "" {
		want = "STANDARD"
	}
	if sc != want {
		return false
	}
	if expires := aws.ToString(out.ExpiresString); expires != h.Expires {
		t, err := http.ParseTime(expires)
		if err != nil || t.UTC().Format(http.TimeFormat) != h.Expires {
			return false
		}
	}
	return aws.ToString(out.CacheControl) == h.CacheControl && aws.ToString(out.ContentEncoding) == h.ContentEncoding
}
