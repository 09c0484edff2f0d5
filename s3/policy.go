package s3

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/policy"
	"github.com/keyless-dev/keyless/store"
)

// Bucket policies: PutBucketPolicy, GetBucketPolicy and DeleteBucketPolicy
// (the ?policy subresource of a bucket), and the bucket policy every call is
// authorized with.

// MaxBucketPolicySize is S3's limit on a bucket policy: 20 KB, counted as IAM
// counts (policy.Size: characters, without the whitespace outside strings).
const MaxBucketPolicySize = policy.MaxResourcePolicySize

// maxPolicyBody bounds the PutBucketPolicy body read: a policy within the
// limit may still carry much indentation.
const maxPolicyBody = 1 << 20

// routePolicy finds the operation of a request on a bucket's ?policy.
func routePolicy(method string) (string, operation) {
	switch method {
	case http.MethodPut:
		return "PutBucketPolicy", (*Service).handlePutBucketPolicy
	case http.MethodGet:
		return "GetBucketPolicy", (*Service).handleGetBucketPolicy
	case http.MethodDelete:
		return "DeleteBucketPolicy", (*Service).handleDeleteBucketPolicy
	}
	return "", nil
}

func errNoSuchBucketPolicy() *awsapi.Error {
	return awsapi.NewError("NoSuchBucketPolicy", http.StatusNotFound, "The bucket policy does not exist")
}

func errMalformedPolicy(msg string) *awsapi.Error {
	return awsapi.NewError("MalformedPolicy", http.StatusBadRequest, msg)
}

// bucketPolicy returns the policy of the bucket resource names
// ("arn:aws:s3:::bucket[/key]"): "" when the bucket has none or does not
// exist, or resource names no bucket.
func (s *Service) bucketPolicy(c *call, resource string) (string, error) {
	rest, ok := strings.CutPrefix(resource, "arn:aws:s3:::")
	if !ok {
		return "", nil
	}
	name, _, _ := strings.Cut(rest, "/")
	if name == "" {
		return "", nil
	}
	b, _, err := s.loadBucket(c, name)
	if err != nil {
		return "", fmt.Errorf("s3: get the policy of bucket %s: %w", name, err)
	}
	return b.Policy, nil
}

// ValidateBucketPolicy checks a bucket policy as PutBucketPolicy does and
// returns S3's MalformedPolicy error for one it refuses: a document that is
// not a JSON object, over MaxBucketPolicySize, or not a valid resource-based
// policy (policy.Parse with policy.KindResource).
func ValidateBucketPolicy(doc []byte) error {
	trimmed := bytes.TrimLeft(doc, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return errMalformedPolicy("Policies must be valid JSON and the first byte must be '{'")
	}
	_, err := policy.Parse(doc, policy.KindResource, policy.WithMaxSize(MaxBucketPolicySize))
	if err == nil {
		return nil
	}
	var pe *policy.Error
	if !errors.As(err, &pe) {
		return errMalformedPolicy(err.Error())
	}
	field, _, _ := strings.Cut(pe.Field, ".")
	switch {
	case pe.Code == policy.CodeLimitExceeded:
		return errMalformedPolicy("Policy exceeds the maximum allowed document size.")
	case strings.HasPrefix(pe.Message, "Syntax errors"):
		return errMalformedPolicy("Policies must be valid JSON and the first byte must be '{'")
	case strings.HasPrefix(pe.Message, "Missing required field Principal"):
		return errMalformedPolicy("Missing required field Principal")
	case field == "Principal" || field == "NotPrincipal":
		return errMalformedPolicy("Invalid principal in policy")
	case field == "Action" || field == "NotAction":
		return errMalformedPolicy("Policy has invalid action")
	case field == "Resource" || field == "NotResource":
		return errMalformedPolicy("Policy has invalid resource")
	case field == "Condition":
		return errMalformedPolicy("Policy has an invalid condition key")
	}
	return errMalformedPolicy(pe.Message)
}

func (s *Service) handlePutBucketPolicy(c *call) error {
	if err := s.authorize(c, "s3:PutBucketPolicy", ARN(c.bucket, ""), c.conditions()); err != nil {
		return err
	}
	if _, err := s.bucket(c, c.bucket); err != nil {
		return err
	}
	pr, err := awsapi.NewPayloadReader(c.r, c.auth, awsapi.PayloadOptions{})
	if err != nil {
		return err
	}
	doc, err := io.ReadAll(io.LimitReader(pr, maxPolicyBody+1))
	if err != nil {
		return err
	}
	if len(doc) > maxPolicyBody {
		return errMalformedPolicy("Policy exceeds the maximum allowed document size.")
	}
	if err := ValidateBucketPolicy(doc); err != nil {
		return err
	}
	err = s.updateBucket(c.ctx, c.bucket, func(b store.Bucket) (store.Bucket, error) {
		b.Policy = string(doc)
		return b, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return errNoSuchBucket(c.bucket)
	}
	if err != nil {
		return fmt.Errorf("s3: put bucket policy: %w", err)
	}
	c.writeStatus(http.StatusNoContent)
	return nil
}

func (s *Service) handleGetBucketPolicy(c *call) error {
	if err := s.authorize(c, "s3:GetBucketPolicy", ARN(c.bucket, ""), c.conditions()); err != nil {
		return err
	}
	b, err := s.bucket(c, c.bucket)
	if err != nil {
		return err
	}
	if b.Policy == "" {
		return errNoSuchBucketPolicy()
	}
	h := c.w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b.Policy)))
	c.writeStatus(http.StatusOK)
	_, _ = io.WriteString(c.w, b.Policy)
	return nil
}

func (s *Service) handleDeleteBucketPolicy(c *call) error {
	if err := s.authorize(c, "s3:DeleteBucketPolicy", ARN(c.bucket, ""), c.conditions()); err != nil {
		return err
	}
	err := s.updateBucket(c.ctx, c.bucket, func(b store.Bucket) (store.Bucket, error) {
		b.Policy = ""
		return b, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return errNoSuchBucket(c.bucket)
	}
	if err != nil {
		return fmt.Errorf("s3: delete bucket policy: %w", err)
	}
	c.writeStatus(http.StatusNoContent)
	return nil
}
