package cloudfront

import (
	"strings"
	"testing"
)

// FuzzInvalidationBatch feeds arbitrary bodies to the CreateInvalidation
// decoder: it must never panic, and a batch it accepts must satisfy
// CloudFront's rules (a CallerReference, Quantity equal to the number of
// paths, every path valid, the counts matching the paths).
func FuzzInvalidationBatch(f *testing.F) {
	seeds := []string{
		`<InvalidationBatch xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Paths><Quantity>2</Quantity><Items><Path>/index.html</Path><Path>/assets/*</Path></Items></Paths><CallerReference>2025-06-01T12:00:00Z</CallerReference></InvalidationBatch>`,
		`<?xml version="1.0" encoding="UTF-8"?><InvalidationBatch><Paths><Quantity>1</Quantity><Items><Path>/*</Path></Items></Paths><CallerReference>r</CallerReference></InvalidationBatch>`,
		`<InvalidationBatch><Paths><Quantity>3</Quantity><Items><Path>/a</Path></Items></Paths><CallerReference>r</CallerReference></InvalidationBatch>`,
		`<InvalidationBatch><Paths><Quantity>1</Quantity><Items><Path>/a*b</Path></Items></Paths><CallerReference>r</CallerReference></InvalidationBatch>`,
		`<InvalidationBatch><Paths><Quantity>-1</Quantity></Paths></InvalidationBatch>`,
		`<!DOCTYPE x [<!ENTITY a "b">]><InvalidationBatch/>`,
		`<InvalidationBatch><Paths><Items><Path>&#x0;</Path></Items></Paths></InvalidationBatch>`,
		`<x:InvalidationBatch xmlns:x="urn:other"/>`,
		``,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := decodeInvalidationBatch(body)
		if err != nil {
			return
		}
		if b.ref == "" || len(b.paths) == 0 || b.files+b.wildcards != len(b.paths) {
			t.Fatalf("accepted %+v", b)
		}
		wild := 0
		for _, p := range b.paths {
			if !ValidPath(p) || !strings.HasPrefix(p, "/") || len(p) > MaxPathLength {
				t.Fatalf("accepted invalid path %q", p)
			}
			if i := strings.IndexByte(p, '*'); i >= 0 {
				if i != len(p)-1 {
					t.Fatalf("accepted path with * inside: %q", p)
				}
				wild++
			}
		}
		if wild != b.wildcards {
			t.Fatalf("counted %d wildcards, found %d", b.wildcards, wild)
		}
	})
}
