package cloudfront

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// invalidation is one invalidation batch. It never changes after creation:
// its status is derived from the clock.
type invalidation struct {
	id      string
	ref     string
	paths   []string
	created time.Time
	done    time.Time // from when Status is Completed
	// files and wildcards count its individual and wildcard paths.
	files, wildcards int
}

// Invalidation statuses.
const (
	statusInProgress = "InProgress"
	statusCompleted  = "Completed"
)

// status is the invalidation's Status at now.
func (iv *invalidation) status(now time.Time) string {
	if now.Before(iv.done) {
		return statusInProgress
	}
	return statusCompleted
}

// batch is a validated invalidation batch.
type batch struct {
	ref              string
	paths            []string
	files, wildcards int
}

// checkBatch validates an invalidation batch as CreateInvalidation does:
// Quantity equal to the number of paths (InconsistentQuantities), a
// CallerReference, at least one path, each path valid (InvalidArgument).
func checkBatch(b *InvalidationBatch) (batch, error) {
	if err := checkQuantity(b.Paths.Quantity, len(b.Paths.Items)); err != nil {
		return batch{}, err
	}
	if b.CallerReference == "" {
		return batch{}, errInvalidArgument("The parameter CallerReference is required.")
	}
	if len(b.Paths.Items) == 0 {
		return batch{}, errInvalidArgument("Your request contains no invalidation paths.")
	}
	out := batch{ref: b.CallerReference, paths: b.Paths.Items}
	for _, p := range b.Paths.Items {
		if !ValidPath(p) {
			return batch{}, errInvalidArgument("Your request contains one or more invalid invalidation paths.")
		}
		if strings.HasSuffix(p, "*") {
			out.wildcards++
		} else {
			out.files++
		}
	}
	return out, nil
}

// ValidPath reports whether p is a valid invalidation path: it starts with
// "/", has at most MaxPathLength characters, no control characters, and "*"
// only as its last character.
func ValidPath(p string) bool {
	if !strings.HasPrefix(p, "/") || len(p) > MaxPathLength || !utf8.ValidString(p) {
		return false
	}
	if i := strings.IndexByte(p, '*'); i >= 0 && i != len(p)-1 {
		return false
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// samePaths reports whether two batches name the same paths, in any order.
func samePaths(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// createInvalidation records an invalidation on a distribution. A batch whose
// CallerReference was already used on the distribution returns the existing
// invalidation (created false) when the paths are the same, and
// InvalidationBatchAlreadyExists otherwise. A new batch must fit CloudFront's
// limits: on its own (BatchTooLarge), and with the distribution's
// invalidations in progress (TooManyInvalidationsInProgress).
func (s *Service) createInvalidation(distID string, b batch) (iv *invalidation, created bool, err error) {
	id, err := s.newID("I")
	if err != nil {
		return nil, false, err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.lookup(distID)
	if err != nil {
		return nil, false, err
	}
	if old := d.invByRef[b.ref]; old != nil {
		if !samePaths(old.paths, b.paths) {
			return nil, false, errBatchAlreadyExists()
		}
		return old, false, nil
	}
	if b.files > MaxInProgressPaths || b.wildcards > MaxInProgressWildcards {
		return nil, false, errBatchTooLarge()
	}
	files, wildcards := d.inProgress(now)
	if files+b.files > MaxInProgressPaths || wildcards+b.wildcards > MaxInProgressWildcards {
		return nil, false, errTooManyInvalidations()
	}
	for d.invByID[id] != nil { // vanishingly unlikely
		if id, err = s.newID("I"); err != nil {
			return nil, false, err
		}
	}
	iv = &invalidation{
		id:        id,
		ref:       b.ref,
		paths:     slices.Clone(b.paths),
		created:   now,
		done:      now.Add(s.cfg.InvalidationDelay),
		files:     b.files,
		wildcards: b.wildcards,
	}
	d.invs = append(d.invs, iv)
	d.invByID[id] = iv
	d.invByRef[b.ref] = iv
	return iv, true, nil
}

// inProgress counts the individual and wildcard paths of the distribution's
// invalidations in progress at now (s.mu held).
func (d *distribution) inProgress(now time.Time) (files, wildcards int) {
	for _, iv := range d.invs {
		if iv.status(now) == statusInProgress {
			files += iv.files
			wildcards += iv.wildcards
		}
	}
	return files, wildcards
}

// inProgressBatches counts the distribution's invalidations in progress
// (s.mu held).
func (d *distribution) inProgressBatches(now time.Time) int {
	n := 0
	for _, iv := range d.invs {
		if iv.status(now) == statusInProgress {
			n++
		}
	}
	return n
}

// getInvalidation returns an invalidation of a distribution.
func (s *Service) getInvalidation(distID, id string) (*invalidation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.lookup(distID)
	if err != nil {
		return nil, err
	}
	iv := d.invByID[id]
	if iv == nil {
		return nil, errNoSuchInvalidation()
	}
	return iv, nil
}

// listInvalidations returns one page of a distribution's invalidations, most
// recent first, starting after the one the marker names, and the marker of
// the next page ("" for the last page).
func (s *Service) listInvalidations(distID, marker string, maxItems int) ([]*invalidation, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.lookup(distID)
	if err != nil {
		return nil, "", err
	}
	all := slices.Clone(d.invs)
	slices.Reverse(all)
	return page(all, func(iv *invalidation) string { return iv.id }, marker, maxItems)
}

// page returns the items after the one whose key is marker (all of them for
// an empty marker), at most maxItems of them, and the key of the last one
// returned when more follow. An unknown marker is InvalidArgument.
func page[T any](items []T, key func(T) string, marker string, maxItems int) ([]T, string, error) {
	start := 0
	if marker != "" {
		i := slices.IndexFunc(items, func(it T) bool { return key(it) == marker })
		if i < 0 {
			return nil, "", errInvalidArgument("The parameter Marker is not valid.")
		}
		start = i + 1
	}
	end := min(start+maxItems, len(items))
	next := ""
	if end < len(items) && end > start {
		next = key(items[end-1])
	}
	return items[start:end], next, nil
}
