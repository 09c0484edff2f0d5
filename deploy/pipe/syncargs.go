package pipe

import (
	"fmt"
	"slices"
	"strings"

	"github.com/keyless-dev/keyless/deploy/filter"
)

// syncFlag is how one aws s3 sync flag becomes keyless deploy s3 flags.
type syncFlag struct {
	value bool // takes a value
	// apply records the flag (with its value, if it takes one).
	apply func(t *syncArgs, value string)
}

// syncArgs is what a list of aws s3 sync flags asks for, in keyless's terms.
type syncArgs struct {
	flags   []string // value flags, in order
	delete  bool
	dryRun  bool
	compare string // "", "size" or "size-mtime"
	debug   bool
}

func appendFlag(name string) func(*syncArgs, string) {
	return func(t *syncArgs, v string) { t.flags = append(t.flags, name, v) }
}

// syncFlags are the aws s3 sync flags keyless understands. aws s3 sync's
// default comparison (size and modification time) is replaced by keyless's
// content hash unless a flag asks for another.
var syncFlags = map[string]syncFlag{
	"--exclude":          {true, appendFlag("--exclude")},
	"--include":          {true, appendFlag("--include")},
	"--acl":              {true, appendFlag("--acl")},
	"--cache-control":    {true, func(t *syncArgs, v string) { t.flags = append(t.flags, "--cache-control", filter.BareRule(v)) }},
	"--content-type":     {true, appendFlag("--content-type")},
	"--content-encoding": {true, appendFlag("--content-encoding")},
	"--expires":          {true, appendFlag("--expires")},
	"--storage-class":    {true, appendFlag("--storage-class")},
	"--delete":           {false, func(t *syncArgs, _ string) { t.delete = true }},
	"--dryrun":           {false, func(t *syncArgs, _ string) { t.dryRun = true }},
	"--size-only":        {false, func(t *syncArgs, _ string) { t.compare = "size" }},
	"--exact-timestamps": {false, func(t *syncArgs, _ string) {
		if t.compare == "" { // --size-only wins, as in aws s3 sync
			t.compare = "size-mtime"
		}
	}},
	"--debug": {false, func(t *syncArgs, _ string) { t.debug = true }},
	// Accepted without effect: keyless follows symbolic links like
	// aws s3 sync's default, and prints a summary, not per-file progress.
	"--follow-symlinks":    {false, func(*syncArgs, string) {}},
	"--no-follow-symlinks": {false, func(*syncArgs, string) {}},
	"--quiet":              {false, func(*syncArgs, string) {}},
	"--only-show-errors":   {false, func(*syncArgs, string) {}},
	"--no-progress":        {false, func(*syncArgs, string) {}},
}

// supportedSyncFlags lists syncFlags' names, sorted, for error messages.
func supportedSyncFlags() string {
	names := make([]string, 0, len(syncFlags))
	for name := range syncFlags {
		names = append(names, name)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// parse reads words, the flags of an aws s3 sync command line (as in the
// pipe's EXTRA_ARGS), into t. A value flag takes the next word or is
// written --flag=value. Errors name the flag at fault, never a value, since
// EXTRA_ARGS may hold secrets (an SSE-C key, say).
func (t *syncArgs) parse(words []string) error {
	for i := 0; i < len(words); i++ {
		word := words[i]
		if !strings.HasPrefix(word, "-") || word == "-" {
			return fmt.Errorf("word %d is not a flag: aws s3 sync's paths come from LOCAL_PATH and S3_BUCKET, and EXTRA_ARGS holds only flags (quote a value that has spaces)", i+1)
		}
		name, value, hasValue := strings.Cut(word, "=")
		f, ok := syncFlags[name]
		if !ok {
			return fmt.Errorf("keyless does not support the aws s3 sync flag %s; the flags it supports are %s", name, supportedSyncFlags())
		}
		switch {
		case !f.value && hasValue:
			return fmt.Errorf("%s takes no value: drop the =", name)
		case f.value && !hasValue:
			if i+1 >= len(words) {
				return fmt.Errorf("%s needs a value: write %s VALUE", name, name)
			}
			if next := words[i+1]; len(next) > 1 && strings.HasPrefix(next, "-") {
				return fmt.Errorf("%s needs a value, but a flag follows it: write %s=VALUE for a value that begins with '-'", name, name)
			}
			i++
			value = words[i]
		}
		f.apply(t, value)
	}
	return nil
}

// args is t as keyless deploy s3 flags.
func (t *syncArgs) args() []string {
	args := slices.Clone(t.flags)
	if t.delete {
		args = append(args, "--delete")
	}
	if t.dryRun {
		args = append(args, "--dry-run")
	}
	if t.compare != "" {
		args = append(args, "--compare", t.compare)
	}
	return args
}
