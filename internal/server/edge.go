package server

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/keyless-dev/keyless/blob"
	"github.com/keyless-dev/keyless/cloudfront"
	"github.com/keyless-dev/keyless/edge"
	"github.com/keyless-dev/keyless/store"
)

// edgeHosts are the virtual-host domains of the distributions' sites
// (DISTRIBUTION-ID.cloudfront.localhost:PORT), which the gateway routes to the edge.
var edgeHosts = []string{edge.HostSuffix}

// newEdge builds the handler that serves the distributions' sites of cf from the
// S3 objects (metadata in the server's store, bytes in blobs, the S3 service's
// blob store, so that objects kept inline are read as those on disk), through
// cache, which must be cf's Listener. It reads the objects as CloudFront with
// origin access does: with no S3 authorization.
func (s *Server) newEdge(cf *cloudfront.Service, cache *edge.Cache, blobs blob.Store) (*edge.Handler, error) {
	meta, ok := s.st.(store.S3Store)
	if !ok {
		return nil, fmt.Errorf("edge: the store (%T) does not keep S3 metadata", s.st)
	}
	return edge.New(edge.Config{Cache: cache, Sites: cf, Origin: s3Origin{meta: meta, blobs: blobs}, Logger: s.log})
}

// s3Origin reads S3 objects for the edge, straight from the store and the blobs.
type s3Origin struct {
	meta  store.S3Store
	blobs blob.Store
}

// Get implements edge.Origin.
func (o s3Origin) Get(ctx context.Context, bucket, key string) (io.ReadCloser, edge.ObjectMeta, error) {
	// An object replaced between reading its record and opening its blob has lost
	// that blob: read the record again, once.
	for attempt := 0; ; attempt++ {
		obj, err := o.meta.GetObject(ctx, bucket, key)
		if errors.Is(err, store.ErrNotFound) {
			return nil, edge.ObjectMeta{}, fmt.Errorf("s3://%s/%s: %w", bucket, key, edge.ErrNotFound)
		}
		if err != nil {
			return nil, edge.ObjectMeta{}, err
		}
		body, err := o.blobs.Open(ctx, obj.BlobID)
		if errors.Is(err, blob.ErrNotFound) && attempt == 0 {
			continue
		}
		if err != nil {
			return nil, edge.ObjectMeta{}, fmt.Errorf("s3://%s/%s: %w", bucket, key, err)
		}
		return body, edge.ObjectMeta{
			ContentType: obj.ContentType, CacheControl: obj.CacheControl, Expires: obj.Expires,
			ETag: obj.ETag, LastModified: obj.LastModified, Size: obj.Size,
		}, nil
	}
}
