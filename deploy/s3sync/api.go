package s3sync

import (
	"context"
	"net/http"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3API is the part of *s3.Client a sync calls. Tests may wrap a client to
// count or fail requests.
type S3API interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	CopyObject(ctx context.Context, in *s3.CopyObjectInput, optFns ...func(*s3.Options)) (*s3.CopyObjectOutput, error)
	DeleteObjects(ctx context.Context, in *s3.DeleteObjectsInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error)
	CreateMultipartUpload(ctx context.Context, in *s3.CreateMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error)
	UploadPart(ctx context.Context, in *s3.UploadPartInput, optFns ...func(*s3.Options)) (*s3.UploadPartOutput, error)
	CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error)
	AbortMultipartUpload(ctx context.Context, in *s3.AbortMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error)
}

var _ S3API = (*s3.Client)(nil)

// MaxAttempts is the number of attempts ClientOptions's retryer makes of a
// request that fails with a throttling error (503 SlowDown), a 5xx or a
// connection error.
const MaxAttempts = 10

// ClientOptions returns the s3.Options settings a client used by Sync
// should have, for s3.NewFromConfig(cfg, s3sync.ClientOptions(n)): a
// standard retryer (exponential backoff with jitter, up to 20 s) making
// MaxAttempts attempts (or the configuration's max_attempts /
// AWS_MAX_ATTEMPTS) without the client-side retry quota, which a deploy's
// many parallel requests would otherwise exhaust under throttling;
// and, when the client's HTTP client is the SDK's own, room for concurrency
// idle connections to a host (the SDK keeps 10), so that parallel requests
// reuse their connections. Everything else (endpoint, path style,
// checksums, TLS) is left as the configuration set it.
func ClientOptions(concurrency int) func(*s3.Options) {
	if concurrency <= 0 {
		concurrency = DefaultConcurrency
	}
	return func(o *s3.Options) {
		attempts := MaxAttempts
		if o.RetryMaxAttempts > 0 { // AWS_MAX_ATTEMPTS, max_attempts in the profile
			attempts = o.RetryMaxAttempts
		}
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = attempts
			so.RateLimiter = ratelimit.None
		})
		grow := func(t *http.Transport) {
			t.MaxIdleConnsPerHost = max(t.MaxIdleConnsPerHost, concurrency+1)
			t.MaxIdleConns = max(t.MaxIdleConns, concurrency+1)
		}
		switch c := o.HTTPClient.(type) {
		case nil:
			o.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(grow)
		case *awshttp.BuildableClient:
			o.HTTPClient = c.WithTransportOptions(grow)
		}
	}
}

// limited bounds the requests in flight through an S3API: each call holds
// one slot of sem while it runs. It is what the transfer manager and the
// workers call, so that parts of large files and small files share one
// bound.
type limited struct {
	S3API
	sem chan struct{}
}

func (l limited) acquire(ctx context.Context) error {
	select {
	case l.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l limited) release() { <-l.sem }

// call runs f holding a slot.
func call[In, Out any](ctx context.Context, l limited, f func(context.Context, In, ...func(*s3.Options)) (Out, error), in In, optFns []func(*s3.Options)) (out Out, err error) {
	if err := l.acquire(ctx); err != nil {
		return out, err
	}
	defer l.release()
	return f(ctx, in, optFns...)
}

func (l limited) HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	return call(ctx, l, l.S3API.HeadObject, in, optFns)
}

func (l limited) PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	return call(ctx, l, l.S3API.PutObject, in, optFns)
}

func (l limited) CopyObject(ctx context.Context, in *s3.CopyObjectInput, optFns ...func(*s3.Options)) (*s3.CopyObjectOutput, error) {
	return call(ctx, l, l.S3API.CopyObject, in, optFns)
}

func (l limited) DeleteObjects(ctx context.Context, in *s3.DeleteObjectsInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error) {
	return call(ctx, l, l.S3API.DeleteObjects, in, optFns)
}

func (l limited) CreateMultipartUpload(ctx context.Context, in *s3.CreateMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error) {
	return call(ctx, l, l.S3API.CreateMultipartUpload, in, optFns)
}

func (l limited) UploadPart(ctx context.Context, in *s3.UploadPartInput, optFns ...func(*s3.Options)) (*s3.UploadPartOutput, error) {
	return call(ctx, l, l.S3API.UploadPart, in, optFns)
}

func (l limited) CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error) {
	return call(ctx, l, l.S3API.CompleteMultipartUpload, in, optFns)
}

// AbortMultipartUpload passes through unlimited: it frees the parts of a
// failed upload and should not wait behind other uploads.
