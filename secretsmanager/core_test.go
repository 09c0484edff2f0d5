package secretsmanager

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/store"
)

// TestParseSecretID: a SecretId names a secret by name, full ARN or
// partial ARN; an ARN's tail that ends like a random suffix may be either.
func TestParseSecretID(t *testing.T) {
	c := &core{region: testRegion, account: testAccount}
	const prefix = "arn:aws:secretsmanager:us-east-1:000000000000:secret:"
	tests := []struct {
		id    string
		arn   bool
		names []string
	}{
		{"db", false, []string{"db"}},
		{"prod/db-AbCdEf", false, []string{"prod/db-AbCdEf"}},
		{prefix + "prod/db-AbC123", true, []string{"prod/db", "prod/db-AbC123"}},
		{prefix + "prod/db", true, []string{"prod/db"}},
		{prefix + "db-passwd", true, []string{"db", "db-passwd"}},
		{prefix + "-AbC123", true, []string{"-AbC123"}},
		{prefix + "a-AbC12!", true, []string{"a-AbC12!"}},
		{prefix, true, nil},
		{"arn:aws:secretsmanager:eu-west-1:000000000000:secret:db", true, nil},
		{"arn:aws:secretsmanager:us-east-1:111111111111:secret:db", true, nil},
		{"arn:aws:s3:::bucket", true, nil},
	}
	for _, tc := range tests {
		got := c.parseSecretID(tc.id)
		if got.arn != tc.arn || !slices.Equal(got.names, tc.names) {
			t.Errorf("parseSecretID(%q) = arn %v names %q, want arn %v names %q", tc.id, got.arn, got.names, tc.arn, tc.names)
		}
	}
	sec := store.Secret{Name: "prod/db", ARN: prefix + "prod/db-AbC123"}
	for id, want := range map[string]bool{
		"prod/db": true, "prod/DB": false, prefix + "prod/db-AbC123": true, prefix + "prod/db": true,
		prefix + "prod/db-XyZ789": false, prefix + "prod/d": false,
	} {
		if got := c.parseSecretID(id).matches(sec); got != want {
			t.Errorf("%q matches %s = %v, want %v", id, sec.ARN, got, want)
		}
	}
}

// versions builds versions "id:STAGE,STAGE" (stages optional).
func versions(specs ...string) []store.SecretVersion {
	var vs []store.SecretVersion
	for _, s := range specs {
		id, stages, _ := strings.Cut(s, ":")
		v := store.SecretVersion{ID: id}
		if stages != "" {
			v.Stages = strings.Split(stages, ",")
		}
		vs = append(vs, v)
	}
	return vs
}

func specs(vs []store.SecretVersion) string {
	var out []string
	for _, v := range vs {
		out = append(out, v.ID+":"+strings.Join(v.Stages, ","))
	}
	return strings.Join(out, " ")
}

// TestAttach: PutSecretValue's stage moves.
func TestAttach(t *testing.T) {
	tests := []struct {
		name   string
		before []string
		to     int
		stages []string
		want   string
	}{
		{"first version", []string{"a:"}, 0, []string{"AWSCURRENT"}, "a:AWSCURRENT"},
		{"new current", []string{"a:AWSCURRENT", "b:"}, 1, []string{"AWSCURRENT"}, "a:AWSPREVIOUS b:AWSCURRENT"},
		{"previous moves on", []string{"a:AWSPREVIOUS", "b:AWSCURRENT", "c:"}, 2, []string{"AWSCURRENT"}, "a: b:AWSPREVIOUS c:AWSCURRENT"},
		{"pending leaves current alone", []string{"a:AWSCURRENT", "b:"}, 1, []string{"AWSPENDING"}, "a:AWSCURRENT b:AWSPENDING"},
		{"pending taken from another version", []string{"a:AWSCURRENT", "b:AWSPENDING", "c:"}, 2, []string{"AWSPENDING"}, "a:AWSCURRENT b: c:AWSPENDING"},
		{"several labels", []string{"a:AWSCURRENT,blue", "b:"}, 1, []string{"AWSCURRENT", "blue"}, "a:AWSPREVIOUS b:AWSCURRENT,blue"},
		{"already there", []string{"a:AWSCURRENT"}, 0, []string{"AWSCURRENT"}, "a:AWSCURRENT"},
	}
	for _, tc := range tests {
		vs := versions(tc.before...)
		attach(vs, tc.to, tc.stages)
		if got := specs(vs); got != tc.want {
			t.Errorf("%s: attach = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestPrune: beyond 100 versions, the oldest deprecated ones over a day old
// go; labelled and recent ones stay.
func TestPrune(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var vs []store.SecretVersion
	for i := range 103 {
		v := store.SecretVersion{ID: fmt.Sprintf("v%03d", i), CreatedAt: now.Add(-48 * time.Hour).Add(time.Duration(i) * time.Minute)}
		if i == 0 {
			v.Stages = []string{"keep"} // labelled: stays
		}
		if i == 2 {
			v.CreatedAt = now.Add(-time.Hour) // recent: stays
		}
		vs = append(vs, v)
	}
	got := prune(vs, now)
	if len(got) != maxVersions || got[0].ID != "v000" || got[1].ID != "v002" || got[2].ID != "v005" {
		t.Fatalf("prune kept %d versions starting %s %s %s; want 100: v000 (labelled), v002 (recent), then from v005", len(got), got[0].ID, got[1].ID, got[2].ID)
	}
	all := versions("a:", "b:")
	if got := prune(all, now); len(got) != 2 {
		t.Fatalf("prune of 2 versions removed some")
	}
}

// TestFilters: ListSecrets' filter rules.
func TestFilters(t *testing.T) {
	sec := store.Secret{Name: "prod/MyDatabase", Description: "Primary Postgres", Tags: []store.Tag{{Key: "team", Value: "core-infra"}}}
	tests := []struct {
		key    string
		values []string
		want   bool
	}{
		{filterName, []string{"prod/"}, true},
		{filterName, []string{"Prod/"}, false},
		{filterName, []string{"dev", "prod"}, true},
		{filterName, []string{"!prod"}, false},
		{filterName, []string{"!dev"}, true},
		{filterDescription, []string{"primary"}, true},
		{filterDescription, []string{"postgres"}, false},
		{filterTagKey, []string{"te"}, true},
		{filterTagKey, []string{"Te"}, false},
		{filterTagValue, []string{"core"}, true},
		{filterTagValue, []string{"!core"}, false},
		{filterAll, []string{"mydata"}, false}, // the name's words are prod, my, database
		{filterAll, []string{"DATA"}, true},
		{filterAll, []string{"MyDatabase"}, true},
		{filterAll, []string{"MYDATABASE"}, false},
		{filterAll, []string{"postgres infra"}, true},
		{filterAll, []string{"postgres mysql"}, false},
		{filterAll, []string{"/"}, false},
		{filterPrimaryRegion, []string{"us"}, false},
		{filterOwningService, []string{"!rds"}, true},
	}
	for _, tc := range tests {
		if got := (filter{key: tc.key, values: tc.values}).matches(sec); got != tc.want {
			t.Errorf("filter %s %q on %s = %v, want %v", tc.key, tc.values, sec.Name, got, tc.want)
		}
	}
}

// TestConcurrentPutSecretValue: concurrent writers of distinct versions
// lose none, and exactly one version ends up AWSCURRENT with one
// AWSPREVIOUS.
func TestConcurrentPutSecretValue(t *testing.T) {
	f := newFixture(t)
	f.ok("CreateSecret", js("Name", "busy", "SecretString", "v0", "ClientRequestToken", tokA))
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok := fmt.Sprintf("%08d-0000-4000-8000-000000000000", i)
			if r := f.call("PutSecretValue", js("SecretId", "busy", "SecretString", tok, "ClientRequestToken", tok)); r.err != nil {
				errs <- r.err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent PutSecretValue: %v", err)
	}
	sec, err := f.st.GetSecret(t.Context(), "busy")
	if err != nil {
		t.Fatal(err)
	}
	current, previous := 0, 0
	for _, v := range sec.Versions {
		current += len(slices.DeleteFunc(slices.Clone(v.Stages), func(s string) bool { return s != stageCurrent }))
		previous += len(slices.DeleteFunc(slices.Clone(v.Stages), func(s string) bool { return s != stagePrevious }))
	}
	if len(sec.Versions) != n+1 || current != 1 || previous != 1 {
		t.Fatalf("after %d concurrent puts: %d versions, %d AWSCURRENT, %d AWSPREVIOUS: %s", n, len(sec.Versions), current, previous, specs(sec.Versions))
	}
}

// TestListPurgesEndedWindows: ListSecrets deletes the secrets whose recovery
// window has ended, even when it lists those scheduled for deletion.
func TestListPurgesEndedWindows(t *testing.T) {
	f := newFixture(t)
	f.ok("CreateSecret", js("Name", "short", "SecretString", "v"))
	f.ok("CreateSecret", js("Name", "long", "SecretString", "v"))
	f.ok("DeleteSecret", js("SecretId", "short", "RecoveryWindowInDays", 7))
	f.ok("DeleteSecret", js("SecretId", "long", "RecoveryWindowInDays", 30))
	f.advance(8 * 24 * time.Hour)
	out := f.ok("ListSecrets", js("IncludePlannedDeletion", true))
	if l := out["SecretList"].([]any); len(l) != 1 || str(l[0].(map[string]any), "Name") != "long" {
		t.Fatalf("ListSecrets IncludePlannedDeletion after 8 days = %v, want long alone", l)
	}
	if _, err := f.st.GetSecret(t.Context(), "short"); err == nil {
		t.Fatalf("the secret whose window ended is still in the store")
	}
}
