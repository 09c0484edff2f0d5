package invalidation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/smithy-go"
)

const testDist = "EDFDVBD6EXAMPLE"

// fakeInvalidation is an invalidation of the fake: in progress until the
// fake's clock reaches doneAt.
type fakeInvalidation struct {
	id     string
	ref    string
	paths  []string
	doneAt int
}

// fakeCloudFront is the invalidation API of one distribution, with
// CloudFront's in-progress limits. Its clock is the number of calls made to
// it: every call is one tick, so that invalidations complete after a given
// number of calls, whatever the time they take.
type fakeCloudFront struct {
	mu sync.Mutex
	// maxPaths and maxWildcards are the in-progress limits (default
	// CloudFront's).
	maxPaths, maxWildcards int
	// delay is how many ticks a new invalidation stays in progress.
	delay int
	// pageSize is ListInvalidations' page size (default 100).
	pageSize int
	// createErrs are returned by the next CreateInvalidation calls, in order
	// (nil: proceed); listErr by every ListInvalidations.
	createErrs []error
	listErr    error
	// onList is called (without the lock) after every ListInvalidations.
	onList func(calls int)

	tick  int
	invs  []*fakeInvalidation // in creation order
	calls []string            // "List", "Get ID", "Create n+w"
	// status is the last Status GetInvalidation answered, by ID.
	status map[string]string
}

func newFake() *fakeCloudFront {
	return &fakeCloudFront{maxPaths: DefaultMaxPaths, maxWildcards: DefaultMaxWildcards, delay: 3, pageSize: 100, status: map[string]string{}}
}

// add records an invalidation that stays in progress for ticks calls.
func (f *fakeCloudFront) add(paths []string, ticks int) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := fmt.Sprintf("IOLD%02d", len(f.invs)+1)
	f.invs = append(f.invs, &fakeInvalidation{id: id, ref: id, paths: paths, doneAt: f.tick + ticks})
	return id
}

func (f *fakeCloudFront) statusOf(iv *fakeInvalidation) string {
	if f.tick < iv.doneAt {
		return "InProgress"
	}
	return "Completed"
}

func (f *fakeCloudFront) inProgress() (exact, wild int) {
	for _, iv := range f.invs {
		if f.statusOf(iv) == "InProgress" {
			for _, p := range iv.paths {
				if strings.HasSuffix(p, "*") {
					wild++
				} else {
					exact++
				}
			}
		}
	}
	return exact, wild
}

func (f *fakeCloudFront) CreateInvalidation(_ context.Context, in *cloudfront.CreateInvalidationInput, _ ...func(*cloudfront.Options)) (*cloudfront.CreateInvalidationOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tick++
	b := in.InvalidationBatch
	var exact, wild int
	for _, p := range b.Paths.Items {
		if strings.HasSuffix(p, "*") {
			wild++
		} else {
			exact++
		}
	}
	f.calls = append(f.calls, fmt.Sprintf("Create %d+%d", exact, wild))
	if aws.ToString(in.DistributionId) != testDist {
		return nil, &types.NoSuchDistribution{Message: aws.String("The specified distribution does not exist.")}
	}
	if len(f.createErrs) > 0 {
		err := f.createErrs[0]
		f.createErrs = f.createErrs[1:]
		if err != nil {
			return nil, err
		}
	}
	if int(aws.ToInt32(b.Paths.Quantity)) != len(b.Paths.Items) || aws.ToString(b.CallerReference) == "" {
		return nil, &types.InconsistentQuantities{Message: aws.String("bad batch")}
	}
	for _, iv := range f.invs {
		if iv.ref == aws.ToString(b.CallerReference) {
			return nil, &smithy.GenericAPIError{Code: "InvalidationBatchAlreadyExists", Message: "CallerReference reused"}
		}
	}
	inExact, inWild := f.inProgress()
	if inExact+exact > f.maxPaths || inWild+wild > f.maxWildcards {
		return nil, &types.TooManyInvalidationsInProgress{Message: aws.String("Processing your request will cause you to exceed the maximum number of in-progress wildcard invalidations.")}
	}
	iv := &fakeInvalidation{
		id:     fmt.Sprintf("INEW%02d", len(f.invs)+1),
		ref:    aws.ToString(b.CallerReference),
		paths:  slices.Clone(b.Paths.Items),
		doneAt: f.tick + f.delay,
	}
	f.invs = append(f.invs, iv)
	return &cloudfront.CreateInvalidationOutput{Invalidation: f.invalidation(iv)}, nil
}

func (f *fakeCloudFront) invalidation(iv *fakeInvalidation) *types.Invalidation {
	return &types.Invalidation{
		Id:         aws.String(iv.id),
		Status:     aws.String(f.statusOf(iv)),
		CreateTime: aws.Time(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)),
		InvalidationBatch: &types.InvalidationBatch{
			CallerReference: aws.String(iv.ref),
			Paths:           &types.Paths{Quantity: aws.Int32(int32(len(iv.paths))), Items: slices.Clone(iv.paths)},
		},
	}
}

func (f *fakeCloudFront) GetInvalidation(_ context.Context, in *cloudfront.GetInvalidationInput, _ ...func(*cloudfront.Options)) (*cloudfront.GetInvalidationOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tick++
	id := aws.ToString(in.Id)
	f.calls = append(f.calls, "Get "+id)
	for _, iv := range f.invs {
		if iv.id == id {
			out := f.invalidation(iv)
			f.status[id] = aws.ToString(out.Status)
			return &cloudfront.GetInvalidationOutput{Invalidation: out}, nil
		}
	}
	return nil, &types.NoSuchInvalidation{Message: aws.String("The specified invalidation does not exist.")}
}

func (f *fakeCloudFront) ListInvalidations(_ context.Context, in *cloudfront.ListInvalidationsInput, _ ...func(*cloudfront.Options)) (*cloudfront.ListInvalidationsOutput, error) {
	f.mu.Lock()
	f.tick++
	f.calls = append(f.calls, "List")
	calls := 0
	for _, c := range f.calls {
		if c == "List" {
			calls++
		}
	}
	out, err := f.list(in)
	onList := f.onList
	f.mu.Unlock()
	if onList != nil {
		onList(calls)
	}
	return out, err
}

func (f *fakeCloudFront) list(in *cloudfront.ListInvalidationsInput) (*cloudfront.ListInvalidationsOutput, error) {
	if f.listErr != nil {
		return nil, f.listErr
	}
	if aws.ToString(in.DistributionId) != testDist {
		return nil, &types.NoSuchDistribution{Message: aws.String("The specified distribution does not exist.")}
	}
	all := slices.Clone(f.invs)
	slices.Reverse(all) // most recent first
	start := 0
	if m := aws.ToString(in.Marker); m != "" {
		start = slices.IndexFunc(all, func(iv *fakeInvalidation) bool { return iv.id == m }) + 1
	}
	end := min(start+f.pageSize, len(all))
	l := &types.InvalidationList{
		IsTruncated: aws.Bool(end < len(all)),
		Marker:      in.Marker,
		MaxItems:    aws.Int32(int32(f.pageSize)),
		Quantity:    aws.Int32(int32(end - start)),
	}
	for _, iv := range all[start:end] {
		l.Items = append(l.Items, types.InvalidationSummary{Id: aws.String(iv.id), Status: aws.String(f.statusOf(iv)), CreateTime: aws.Time(time.Now())})
	}
	if end < len(all) {
		l.NextMarker = aws.String(all[end-1].id)
	}
	return &cloudfront.ListInvalidationsOutput{InvalidationList: l}, nil
}

// created returns the paths of the invalidations Run created, in order.
func (f *fakeCloudFront) created() (ids []string, batches [][]string, refs []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, iv := range f.invs {
		if strings.HasPrefix(iv.id, "INEW") {
			ids = append(ids, iv.id)
			batches = append(batches, iv.paths)
			refs = append(refs, iv.ref)
		}
	}
	return ids, batches, refs
}

func (f *fakeCloudFront) count(call string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c == call {
			n++
		}
	}
	return n
}

// creates counts the CreateInvalidation calls, refused ones included.
func (f *fakeCloudFront) creates() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if strings.HasPrefix(c, "Create ") {
			n++
		}
	}
	return n
}

// invalidator returns an Invalidator of the fake that polls at once.
func invalidator(f *fakeCloudFront) Invalidator {
	return Invalidator{API: f, PollInterval: time.Microsecond}
}

// wildcards returns n wildcard paths.
func wildcards(n int, prefix string) []string { return keys(n, prefix, "/*") }

func TestRunFits(t *testing.T) {
	f := newFake()
	f.add(wildcards(10, "/old"), 100) // in progress, but there is room
	p := Plan{Paths: []string{"/", "/a.html", "/assets/*", "/index.html"}, Wildcards: 1}
	ids, err := invalidator(f).Run(context.Background(), testDist, p, false)
	if err != nil {
		t.Fatal(err)
	}
	gotIDs, batches, refs := f.created()
	if !slices.Equal(ids, gotIDs) || len(ids) != 1 {
		t.Fatalf("Run = %q, created %q: want one invalidation", ids, gotIDs)
	}
	if want := []string{"/assets/*", "/", "/a.html", "/index.html"}; !slices.Equal(batches[0], want) {
		t.Errorf("paths = %q, want %q", batches[0], want)
	}
	if !strings.HasPrefix(refs[0], "keyless-") {
		t.Errorf("CallerReference = %q, want keyless-…", refs[0])
	}
	if n := f.count("Get IOLD01"); n != 1 {
		t.Errorf("GetInvalidation of the one in progress: %d calls, want 1", n)
	}
}

func TestRunEmptyPlan(t *testing.T) {
	f := newFake()
	ids, err := invalidator(f).Run(context.Background(), testDist, Plan{Reasons: []string{"no keys changed"}}, true)
	if err != nil || ids != nil {
		t.Fatalf("Run = %q, %v; want nothing", ids, err)
	}
	if len(f.calls) != 0 {
		t.Errorf("calls %q, want none", f.calls)
	}
}

// TestRunSplitsBesideWildcardsInProgress: 14 of CloudFront's 15 wildcards
// are in progress; a plan of 3 wildcards and 2 paths sends at once what fits
// (1 wildcard and the 2 paths) and the 2 other wildcards once the
// invalidation in progress has completed.
func TestRunSplitsBesideWildcardsInProgress(t *testing.T) {
	f := newFake()
	f.add(wildcards(14, "/old"), 6)
	p := Plan{Paths: []string{"/a/*", "/b/*", "/c/*", "/index.html", "/x.html"}, Wildcards: 3}
	ids, err := invalidator(f).Run(context.Background(), testDist, p, false)
	if err != nil {
		t.Fatal(err)
	}
	gotIDs, batches, refs := f.created()
	want := [][]string{{"/a/*", "/index.html", "/x.html"}, {"/b/*", "/c/*"}}
	if !slices.Equal(ids, gotIDs) || !slices.EqualFunc(batches, want, slices.Equal) {
		t.Fatalf("Run = %q; batches %q, want %q", ids, batches, want)
	}
	if refs[0] == refs[1] {
		t.Errorf("CallerReference %q used twice", refs[0])
	}
	if n := f.count("Get IOLD01"); n != 1 {
		t.Errorf("GetInvalidation of the one in progress: %d calls, want 1 (its paths do not change)", n)
	}
	if n := f.creates(); n != 2 {
		t.Errorf("calls %q: %d CreateInvalidation, want 2, none refused", f.calls, n)
	}
}

// TestRunWaitsForRoom: 3,000 paths in progress leave no room; Run polls
// until they complete, then sends the plan whole.
func TestRunWaitsForRoom(t *testing.T) {
	f := newFake()
	f.add(keys(3000, "/old/", ".html"), 8)
	p := Plan{Paths: keys(10, "/new/", ".html")}
	ids, err := invalidator(f).Run(context.Background(), testDist, p, false)
	if err != nil {
		t.Fatal(err)
	}
	_, batches, _ := f.created()
	if len(ids) != 1 || len(batches[0]) != 10 {
		t.Fatalf("Run = %q, batches %q: want one invalidation of the 10 paths", ids, batches)
	}
	if n := f.count("List"); n < 3 {
		t.Errorf("%d ListInvalidations, want polling until room frees: %q", n, f.calls)
	}
	if n := f.creates(); n != 1 {
		t.Errorf("calls %q: %d CreateInvalidation, want 1, sent when it fits", f.calls, n)
	}
}

// TestRunSplitsBigPlan: a plan larger than the limits (given by hand) goes
// in batches, each sent when the previous one has completed.
func TestRunSplitsBigPlan(t *testing.T) {
	f := newFake()
	f.maxPaths, f.maxWildcards = 3, 1
	p := Plan{Paths: cat(keys(7, "/p", ""), []string{"/w1*", "/w2*"})}
	inv := invalidator(f)
	inv.MaxPaths, inv.MaxWildcards = 3, 1
	ids, err := inv.Run(context.Background(), testDist, p, true)
	if err != nil {
		t.Fatal(err)
	}
	_, batches, refs := f.created()
	want := [][]string{{"/w1*", "/p0", "/p1", "/p2"}, {"/w2*", "/p3", "/p4", "/p5"}, {"/p6"}}
	if !slices.EqualFunc(batches, want, slices.Equal) {
		t.Fatalf("batches %q, want %q", batches, want)
	}
	if len(ids) != 3 || len(slices.Compact(slices.Sorted(slices.Values(refs)))) != 3 {
		t.Errorf("Run = %q, caller references %q: want 3 distinct", ids, refs)
	}
	for _, id := range ids {
		if f.status[id] != "Completed" {
			t.Errorf("invalidation %s: last status seen %q, want Completed (wait)", id, f.status[id])
		}
	}
}

// TestRunPagesThroughInvalidations: an invalidation in progress on the
// second page of ListInvalidations counts.
func TestRunPagesThroughInvalidations(t *testing.T) {
	f := newFake()
	f.pageSize = 2
	f.add(wildcards(15, "/old"), 5) // oldest, so on the last page
	f.add([]string{"/done1"}, 0)
	f.add([]string{"/done2"}, 0)
	ids, err := invalidator(f).Run(context.Background(), testDist, Plan{Paths: []string{"/a/*"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 || f.count("Get IOLD01") != 1 || f.count("Create 0+1") != 1 {
		t.Errorf("Run = %q; calls %q: want one create, after the wildcards in progress on page 2 completed", ids, f.calls)
	}
}

// TestRunRoomTaken: another client takes the room between Run's count and
// its CreateInvalidation (TooManyInvalidationsInProgress); Run counts again
// and retries.
func TestRunRoomTaken(t *testing.T) {
	f := newFake()
	f.createErrs = []error{&types.TooManyInvalidationsInProgress{Message: aws.String("too many")}}
	ids, err := invalidator(f).Run(context.Background(), testDist, Plan{Paths: []string{"/a.html"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 || f.count("Create 1+0") != 2 || f.count("List") != 2 {
		t.Errorf("Run = %q; calls %q: want a second count and create", ids, f.calls)
	}
	if _, _, refs := f.created(); len(refs) != 1 || !strings.HasSuffix(refs[0], "-2") {
		t.Errorf("caller references %q: want the second attempt's own", refs)
	}
}

// TestRunWait: with wait, Run returns once its invalidation is Completed.
func TestRunWait(t *testing.T) {
	f := newFake()
	f.delay = 4
	ids, err := invalidator(f).Run(context.Background(), testDist, Plan{Paths: []string{"/a.html"}}, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 || f.status[ids[0]] != "Completed" || f.count("Get "+ids[0]) < 2 {
		t.Errorf("Run = %q; calls %q, last status %q: want GetInvalidation until Completed", ids, f.calls, f.status[ids[0]])
	}
}

// TestRunGivesUp: when room never frees, Run stops when its context ends and
// says what it was waiting for; the invalidations it created are returned.
func TestRunGivesUp(t *testing.T) {
	f := newFake()
	f.add(wildcards(15, "/old"), 1_000_000)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.onList = func(calls int) {
		if calls == 3 {
			cancel()
		}
	}
	ids, err := invalidator(f).Run(ctx, testDist, Plan{Paths: []string{"/a.html", "/b/*"}}, false)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %q, %v; want context.Canceled", ids, err)
	}
	for _, want := range []string{"distribution " + testDist, "waiting for room beside the 1 path and 15 wildcards in progress (the limits are 3000 and 15)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if len(ids) != 1 {
		t.Errorf("Run returned %q, want the invalidation of /a.html it created", ids)
	}
}

// TestRunMaxWait: MaxWait bounds the waiting.
func TestRunMaxWait(t *testing.T) {
	f := newFake()
	f.add(wildcards(15, "/old"), 1_000_000)
	inv := invalidator(f)
	inv.MaxWait = time.Millisecond
	_, err := inv.Run(context.Background(), testDist, Plan{Paths: []string{"/b/*"}}, false)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "stopped waiting (Run waits at most 1ms)") {
		t.Fatalf("Run: %v; want the deadline", err)
	}
}

func TestRunErrors(t *testing.T) {
	denied := errors.New("AccessDenied: User: arn:aws:iam::123456789012:user/ci is not authorized to perform: cloudfront:CreateInvalidation")
	tests := []struct {
		name  string
		setup func(*fakeCloudFront)
		dist  string
		plan  Plan
		want  string
		is    error
	}{
		{
			name:  "create fails",
			setup: func(f *fakeCloudFront) { f.createErrs = []error{denied} },
			dist:  testDist,
			plan:  Plan{Paths: []string{"/a", "/b"}},
			want:  "distribution " + testDist + ": CreateInvalidation of 2 paths: AccessDenied",
			is:    denied,
		},
		{
			name:  "list fails",
			setup: func(f *fakeCloudFront) { f.listErr = denied },
			dist:  testDist,
			plan:  Plan{Paths: []string{"/a"}},
			want:  "distribution " + testDist + ": ListInvalidations: AccessDenied",
			is:    denied,
		},
		{
			name: "no such distribution",
			dist: "ENOSUCH",
			plan: Plan{Paths: []string{"/a"}},
			want: "distribution ENOSUCH: ListInvalidations: NoSuchDistribution: The specified distribution does not exist.",
		},
		{
			name: "no distribution ID",
			plan: Plan{Paths: []string{"/a"}},
			want: "no distribution ID: give the ID of the distribution",
		},
		{
			name: "invalid path",
			dist: testDist,
			plan: Plan{Paths: []string{"/a b.html"}},
			want: `distribution EDFDVBD6EXAMPLE: invalidation: invalidation path "/a b.html" has the character ' ', which CloudFront requires percent-encoded: write it as %20`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			if tt.setup != nil {
				tt.setup(f)
			}
			_, err := invalidator(f).Run(context.Background(), tt.dist, tt.plan, false)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Run: %v, want an error containing %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("Run: %v does not wrap %v", err, tt.is)
			}
		})
	}
}
