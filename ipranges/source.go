package ipranges

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"time"
)

// Source is where a feed comes from: a saved copy (File) or the published feed
// (URL, DefaultURL when empty). It implements provision.IPRanges.
type Source struct {
	// File is a saved copy of the feed; when set, URL is not used.
	File string
	// URL is the feed's address; DefaultURL when empty.
	URL string
	// Client fetches URL; one with a 30-second timeout and TLS 1.2 or later when nil.
	Client *http.Client
}

// Load reads the feed from the file or fetches it. The error says how to work
// offline when the fetch fails.
func (s Source) Load(ctx context.Context) (*Feed, error) {
	if s.File != "" {
		in, err := os.Open(s.File)
		if err != nil {
			return nil, fmt.Errorf("read IP ranges feed: %w", err)
		}
		defer in.Close()
		feed, err := Read(in)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.File, err)
		}
		return feed, nil
	}
	url, client := s.URL, s.Client
	if url == "" {
		url = DefaultURL
	}
	if client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		client = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	}
	feed, err := Fetch(ctx, client, url)
	if err != nil {
		return nil, fmt.Errorf("%w (without internet access, pass a saved copy of the feed)", err)
	}
	return feed, nil
}

// BitbucketEgress returns the feed's Bitbucket Pipelines egress ranges in every
// region, as CIDR blocks.
func (s Source) BitbucketEgress(ctx context.Context) ([]string, error) {
	feed, err := s.Load(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, rg := range feed.Select(ProductBitbucket, DirectionEgress, nil) {
		out = append(out, rg.Prefix.String())
	}
	return out, nil
}
