package secretsmanager

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/keyless-dev/keyless/store"
)

// Filter keys of ListSecrets.
const (
	filterDescription   = "description"
	filterName          = "name"
	filterTagKey        = "tag-key"
	filterTagValue      = "tag-value"
	filterPrimaryRegion = "primary-region"
	filterOwningService = "owning-service"
	filterAll           = "all"
)

// filterKeys are the filter keys, in the model's order.
var filterKeys = []string{filterDescription, filterName, filterTagKey, filterTagValue, filterPrimaryRegion, filterOwningService, filterAll}

// Sort keys of ListSecrets.
const (
	sortCreated      = "created-date"
	sortLastAccessed = "last-accessed-date"
	sortLastChanged  = "last-changed-date"
	sortName         = "name"
)

// filter is one ListSecrets filter: a secret matches when it matches any of
// the values; a value starting with "!" matches the secrets the rest of it
// does not.
type filter struct {
	key    string
	values []string
}

// matches reports whether s passes f.
func (f filter) matches(s store.Secret) bool {
	for _, v := range f.values {
		neg := strings.HasPrefix(v, "!")
		if neg {
			v = v[1:]
		}
		if f.matchesValue(s, v) != neg {
			return true
		}
	}
	return false
}

// matchesValue reports whether s matches one filter value, by the rules of
// Filter.Key: prefix matches, case-sensitive except for description and
// all; all matches each word of the value against the words of the name,
// description, tag keys and tag values.
func (f filter) matchesValue(s store.Secret, v string) bool {
	switch f.key {
	case filterName:
		return strings.HasPrefix(s.Name, v)
	case filterDescription:
		return s.Description != "" && strings.HasPrefix(strings.ToLower(s.Description), strings.ToLower(v))
	case filterTagKey:
		return slices.ContainsFunc(s.Tags, func(t store.Tag) bool { return strings.HasPrefix(t.Key, v) })
	case filterTagValue:
		return slices.ContainsFunc(s.Tags, func(t store.Tag) bool { return strings.HasPrefix(t.Value, v) })
	case filterAll:
		attrs := []string{s.Name, s.Description}
		for _, t := range s.Tags {
			attrs = append(attrs, t.Key, t.Value)
		}
		var words []string
		for _, a := range attrs {
			words = append(words, splitWords(a)...)
		}
		want := splitWords(v)
		if len(want) == 0 {
			return false
		}
		for _, w := range want {
			if !slices.ContainsFunc(words, func(x string) bool { return strings.HasPrefix(x, w) }) {
				return false
			}
		}
		return true
	}
	// primary-region, owning-service: keyless's secrets have neither.
	return false
}

// splitWords splits s into lower-cased words: runs of letters and digits,
// split again where a lower-case letter is followed by an upper-case one
// ("MyDatabase" is "my" and "database").
func splitWords(s string) []string {
	var words []string
	for _, run := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		start := 0
		var prev rune
		for i, r := range run {
			if i > 0 && unicode.IsLower(prev) && unicode.IsUpper(r) {
				words = append(words, strings.ToLower(run[start:i]))
				start = i
			}
			prev = r
		}
		words = append(words, strings.ToLower(run[start:]))
	}
	return words
}

// listQuery is a validated ListSecrets.
type listQuery struct {
	filters        []filter
	includeDeleted bool
	max            int
	sortBy         string
	desc           bool
	token          string
}

// listToken is the position a ListSecrets NextToken encodes: the sort key
// and name of the last secret of the page.
type listToken struct {
	Name string `json:"n"`
	Time int64  `json:"t,omitempty"`
}

func encodeToken(v any) string {
	b, _ := json.Marshal(v) // a struct of strings and integers
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(s string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, v) != nil {
		return errInvalidNextToken()
	}
	return nil
}

// sortTime is the time q sorts s by (zero for sorting by name).
func (q listQuery) sortTime(s store.Secret) time.Time {
	switch q.sortBy {
	case sortLastAccessed:
		return s.LastAccessedAt
	case sortLastChanged:
		return s.LastChangedAt
	case sortName:
		return time.Time{}
	}
	return s.CreatedAt
}

// compare orders secrets as q lists them: by the sort key, then name.
func (q listQuery) compare(aTime time.Time, aName string, bTime time.Time, bName string) int {
	c := aTime.Compare(bTime)
	if c == 0 {
		c = cmp.Compare(aName, bName)
	}
	if q.desc {
		return -c
	}
	return c
}

// list returns a page of the secrets q selects and the token of the next
// page ("" at the end). Secrets whose recovery window has ended are deleted
// on the way.
func (c *core) list(ctx context.Context, q listQuery) ([]store.Secret, string, error) {
	var after *listToken
	if q.token != "" {
		after = new(listToken)
		if err := decodeToken(q.token, after); err != nil {
			return nil, "", err
		}
	}
	all, err := c.st.ListSecrets(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("secretsmanager: %w", err)
	}
	var selected []store.Secret
	for _, s := range all {
		if purged, err := c.purgeIfDue(ctx, s); err != nil {
			return nil, "", err
		} else if purged {
			continue
		}
		if !s.DeletedAt.IsZero() && !q.includeDeleted {
			continue
		}
		if !slices.ContainsFunc(q.filters, func(f filter) bool { return !f.matches(s) }) {
			selected = append(selected, s)
		}
	}
	slices.SortStableFunc(selected, func(a, b store.Secret) int {
		return q.compare(q.sortTime(a), a.Name, q.sortTime(b), b.Name)
	})
	if after != nil {
		at := time.UnixMicro(after.Time)
		if after.Time == 0 {
			at = time.Time{}
		}
		i, _ := slices.BinarySearchFunc(selected, 0, func(s store.Secret, _ int) int {
			if q.compare(q.sortTime(s), s.Name, at, after.Name) <= 0 {
				return -1
			}
			return 1
		})
		selected = selected[i:]
	}
	if len(selected) <= q.max {
		return selected, "", nil
	}
	page := selected[:q.max]
	last := page[len(page)-1]
	tok := listToken{Name: last.Name}
	if t := q.sortTime(last); !t.IsZero() {
		tok.Time = t.UnixMicro()
	}
	return page, encodeToken(tok), nil
}

// versionsPage returns a page of at most max of sec's versions, newest
// first (without the deprecated ones, which have no staging label, unless
// includeDeprecated), after the version token names, and the next token.
func versionsPage(sec store.Secret, includeDeprecated bool, max int, token string) ([]store.SecretVersion, string, error) {
	vs := slices.Clone(sec.Versions)
	slices.Reverse(vs)
	if !includeDeprecated {
		vs = slices.DeleteFunc(vs, func(v store.SecretVersion) bool { return len(v.Stages) == 0 })
	}
	if token != "" {
		var after string
		if err := decodeToken(token, &after); err != nil {
			return nil, "", err
		}
		i := versionIndex(vs, after)
		if i < 0 {
			return nil, "", errInvalidNextToken()
		}
		vs = vs[i+1:]
	}
	if len(vs) <= max {
		return vs, "", nil
	}
	return vs[:max], encodeToken(vs[max-1].ID), nil
}
