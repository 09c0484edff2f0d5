package s3sync

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/deploy/filter"
)

// Compare is how a sync decides that a file's content equals its object's.
// It implements pflag.Value, for --compare.
type Compare string

// The comparisons.
const (
	// CompareHash compares content: the object's ETag (or the deploy
	// manifest's record of it) against the MD5 of the file, or the multipart
	// ETag it would have. The default.
	CompareHash Compare = "hash"
	// CompareSize treats a file as unchanged when its size equals the
	// object's.
	CompareSize Compare = "size"
	// CompareSizeMTime treats a file as unchanged when its size equals the
	// object's and the object is not older than the file's modification
	// time, as aws s3 sync does.
	CompareSizeMTime Compare = "size-mtime"
)

// String returns the name, "hash" for the zero Compare.
func (c Compare) String() string {
	if c == "" {
		return string(CompareHash)
	}
	return string(c)
}

// Set parses a --compare value.
func (c *Compare) Set(s string) error {
	switch Compare(s) {
	case CompareHash, CompareSize, CompareSizeMTime:
		*c = Compare(s)
		return nil
	}
	return fmt.Errorf("unknown comparison %q: use hash, size or size-mtime", s)
}

// Type names the flag's value type in help.
func (c *Compare) Type() string { return "hash|size|size-mtime" }

// Defaults of Options.
const (
	// DefaultConcurrency is the number of hashes, uploads, copies and
	// requests a sync runs at once.
	DefaultConcurrency = 32
	// DefaultPartSize is the multipart part size, the aws CLI's.
	DefaultPartSize int64 = 8 << 20
	// MinPartSize and MaxPartSize are S3's bounds on a part.
	MinPartSize int64 = 5 << 20
	MaxPartSize int64 = 5 << 30
)

// Options configure a Sync.
type Options struct {
	// Source is the local directory to sync. A symbolic link is followed,
	// as are the links inside it (aws s3 sync's default).
	Source string
	// Bucket is the destination bucket; Prefix the key prefix, "" for the
	// bucket's root (a prefix without a trailing slash gets one: "site" and
	// "site/" both mean the keys "site/…").
	Bucket, Prefix string
	// Compare decides what is unchanged; zero means CompareHash.
	Compare Compare
	// Delete removes the objects under the prefix that have no source file
	// and that Filter selects.
	Delete bool
	// DryRun computes everything and changes nothing: the Result says what
	// a sync would do.
	DryRun bool
	// Filter selects files and objects by their path relative to Source or
	// Prefix. The zero Filter selects everything.
	Filter filter.Filter
	// ACL is the canned ACL (x-amz-acl) of uploads and updates, "" for none.
	ACL string
	// StorageClass is the storage class of uploads and updates, "" for the
	// bucket's default (STANDARD).
	StorageClass string
	// ContentEncoding is the Content-Encoding of every file that Gzip does
	// not match (those get "gzip").
	ContentEncoding string
	// ContentType overrides the built-in table (deploy/mimetype) for every
	// file.
	ContentType string
	// Expires is the Expires header of every file; zero for none.
	Expires time.Time
	// CacheControl gives each file's Cache-Control.
	CacheControl filter.Rules
	// Gzip selects the files uploaded gzip-compressed, with
	// Content-Encoding: gzip.
	Gzip filter.Patterns
	// Concurrency bounds the files hashed and the requests in flight at
	// once; zero means DefaultConcurrency.
	Concurrency int
	// PartSize is the multipart part size: files larger than it are
	// uploaded in parts of this size. Zero means DefaultPartSize.
	PartSize int64
	// Manifest reads and writes the deploy manifest (see the package
	// documentation). With it false, every object whose content is equal
	// gets a HeadObject to compare its headers.
	Manifest bool
	// Logger receives warnings (skipped special files, an unreadable
	// manifest). Nil discards them.
	Logger *slog.Logger
}

// normalize checks o and fills in the defaults.
func (o *Options) normalize() error {
	var errs []error
	if o.Source == "" {
		errs = append(errs, errors.New("no source directory given"))
	} else if fi, err := os.Stat(o.Source); err != nil {
		errs = append(errs, fmt.Errorf("source directory: %w", err))
	} else if !fi.IsDir() {
		errs = append(errs, fmt.Errorf("source %s is not a directory: give the directory to sync", o.Source))
	}
	if o.Bucket == "" {
		errs = append(errs, errors.New("no bucket given"))
	}
	if strings.HasPrefix(o.Prefix, "/") {
		errs = append(errs, fmt.Errorf("prefix %q starts with a slash: S3 keys do not; give s3://BUCKET/PREFIX", o.Prefix))
	}
	if o.Prefix != "" && !strings.HasSuffix(o.Prefix, "/") {
		o.Prefix += "/"
	}
	if o.Compare == "" {
		o.Compare = CompareHash
	}
	if err := new(Compare).Set(string(o.Compare)); err != nil {
		errs = append(errs, err)
	}
	if o.Concurrency == 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Concurrency < 0 {
		errs = append(errs, fmt.Errorf("concurrency %d is negative: give at least 1", o.Concurrency))
	}
	if o.PartSize == 0 {
		o.PartSize = DefaultPartSize
	}
	if o.PartSize < MinPartSize || o.PartSize > MaxPartSize {
		errs = append(errs, fmt.Errorf("part size %d is outside S3's limits: give %d (5 MiB) to %d (5 GiB) bytes", o.PartSize, MinPartSize, MaxPartSize))
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return errors.Join(errs...)
}
