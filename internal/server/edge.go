package server

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/keyless-dev/keyless/blob"
	"github.com/keyless-dev/keyless/cloudfront"
	"github.com/keyless-dev/keyless/edge"
	"github.com/keyless-dev/keyless/s3"
	"github.com/keyless-dev/keyless/store"
)

// edgeHosts are the virtual-host domains of the distributions' sites
// (DISTRIBUTION-ID.cloudfront.localhost:PORT), which the gateway routes to the edge.
var edgeHosts = []string{edge.HostSuffix}

// newEdge builds the handler that serves the distributions' sites of cf from the
// S3 objects (metadata in the server's store, bytes in their records or in
// blobs, the S3 service's blob store, read as the S3 service reads them), through
// cache, which must be cf's Listener. It reads the objects as CloudFront with
// origin access does: with no S3 authorization.
func (s *Server) newEdge(cf *cloudfront.Service, cache *edge.Cache, blobs blob.Store) (*edge.Handler, error) {
	meta, ok := s.st.(store.S3Store)
	if !ok {
		return nil, fmt.Errorf("edge: the store (%T) does not keep S3 metadata", s.st)
	}
	return edge.New(edge.Config{Cache: cache, Sites: cf, Origin: s3Origin{meta: meta, blobs: blobs}, Logger: s.log})
}

// s3Origin reads S3 objects for the edge, straight from the store and the blobs
// (s3.OpenObject).
type s3Origin struct {
	meta  store.S3Store
	blobs blob.Store
}

// Get implements edge.Origin.
func (o s3Origin) Get(ctx context.Context, bucket, key string) (io.ReadCloser, edge.ObjectMeta, error) {
	obj, body, err := s3.OpenObject(ctx, o.meta, o.blobs, bucket, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, edge.ObjectMeta{}, fmt.Errorf("s3://%s/%s: %w", bucket, key, edge.ErrNotFound)
	}
	if err != nil {
		return nil, edge.ObjectMeta{}, fmt.Errorf("s3://%s/%s: %w", bucket, key, err)
	}
	return body, edge.ObjectMeta{
		ContentType: obj.ContentType, CacheControl: obj.CacheControl, Expires: obj.Expires,
		ETag: obj.ETag, LastModified: obj.LastModified, Size: obj.Size,
	}, nil
}
