package pipeline

import (
	"strings"
	"testing"
)

func TestGlob(t *testing.T) {
	tests := []struct {
		glob, name string
		want       bool
	}{
		{"feature/*", "feature/x", true},
		{"feature/*", "feature/x/y", false},
		{"feature/**", "feature/x/y", true},
		{"*", "main", true},
		{"*", "feature/x", false},
		{"**", "feature/x", true},
		{"{main,master}", "master", true},
		{"{main,master}", "mainx", false},
		{"release/{v1,v2}.*", "release/v2.3", true},
		{"release/{v1,v2}.*", "release/v3.3", false},
		{"v?", "v1", true},
		{"v?", "v10", false},
		{"a.b", "axb", false},
		{"a+b(c)", "a+b(c)", true},
		{"{a,{b,c}}x", "cx", true},
		{"ü*", "über", true},
		{"x,y", "x,y", true},
	}
	for _, tt := range tests {
		g, err := CompileGlob(tt.glob)
		if err != nil {
			t.Fatalf("%q: %v", tt.glob, err)
		}
		if got := g.Match(tt.name); got != tt.want {
			t.Errorf("%q matches %q = %v, want %v", tt.glob, tt.name, got, tt.want)
		}
	}
	if _, err := CompileGlob("{a,b"); err == nil || !strings.Contains(err.Error(), "has no closing }") {
		t.Errorf("unbalanced brace: %v", err)
	}
}

func TestSelect(t *testing.T) {
	f := mustParse(t, readTestdata(t, "branches.yml"))
	tests := []struct {
		sel, branch string
		step        string // name of the first step of the chosen pipeline
		desc        string
	}{
		{"", "", "default", "default"},
		{"", "feature/bb-123-fix-links", "exact", `branches: "feature/bb-123-fix-links" (exactly names branch "feature/bb-123-fix-links")`},
		{"", "feature/bb-9", "feature bb glob", `branches: "feature/bb-*" (glob matches branch "feature/bb-9")`},
		{"", "feature/other", "feature glob", `branches: "feature/*" (glob matches branch "feature/other")`},
		{"", "main", "main or master", `branches: "{main,master}" (glob matches branch "main")`},
		{"", "release/1.0/rc", "release", `branches: "release/**"`},
		{"", "hotfix", "any top-level branch", `branches: "*"`},
		{"", "hotfix/x", "any branch", `branches: "**"`},
		{"default", "main", "default", "default"},
		{"branches:feature/*", "", "feature glob", `branches: "feature/*"`},
		{"branches:feature/zzz", "", "feature glob", `branches: "feature/*" (glob matches "feature/zzz")`},
		{"tags:v1.2", "", "tag", `tags: "v*" (glob matches "v1.2")`},
		{"pull-requests:x/y", "", "pr", `pull-requests: "**"`},
	}
	for _, tt := range tests {
		p, desc, err := f.Select(tt.sel, tt.branch)
		if err != nil {
			t.Errorf("Select(%q, %q): %v", tt.sel, tt.branch, err)
			continue
		}
		if got := p.Stages[0].Steps[0].Name; got != tt.step {
			t.Errorf("Select(%q, %q) chose %q, want %q", tt.sel, tt.branch, got, tt.step)
		}
		if !strings.HasPrefix(desc, tt.desc) {
			t.Errorf("Select(%q, %q) says %q, want %q…", tt.sel, tt.branch, desc, tt.desc)
		}
	}
}

func TestSelectFallbackAndErrors(t *testing.T) {
	f := mustParse(t, readTestdata(t, "parallel-stages.yml"))
	if _, desc, err := f.Select("", "main"); err != nil || desc != "default" {
		t.Errorf("no branches: %q %v", desc, err)
	}
	g := mustParse(t, []byte("pipelines:\n  default:\n    - step: {script: [echo]}\n  branches:\n    main:\n      - step: {script: [echo]}\n"))
	if _, desc, err := g.Select("", "dev"); err != nil || desc != `default (no branches: pattern matches "dev")` {
		t.Errorf("fallback: %q %v", desc, err)
	}
	h := mustParse(t, []byte("pipelines:\n  custom:\n    deploy:\n      - step: {script: [echo]}\n"))
	for _, tt := range []struct{ sel, branch, want string }{
		{"", "", "there is no default pipeline; pass --pipeline with one of: custom:deploy"},
		{"", "main", `no branches: pattern matches "main" and there is no default pipeline`},
		{"custom:nope", "", `no custom pipeline is named or matches "nope"; this file has: custom:deploy`},
		{"custom:dep*", "", `no custom pipeline is named or matches "dep*"`},
		{"bogus:x", "", `"bogus" is not a kind of pipeline`},
		{"main", "", `write default, branches:NAME, tags:NAME, pull-requests:NAME or custom:NAME (this file has: custom:deploy)`},
	} {
		if _, _, err := h.Select(tt.sel, tt.branch); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Select(%q, %q) = %v, want %q", tt.sel, tt.branch, err, tt.want)
		}
	}
	if got := strings.Join(mustParse(t, readTestdata(t, "branches.yml")).Selectors(), " "); got !=
		"default branches:* branches:** branches:feature/* branches:feature/bb-* branches:feature/bb-123-fix-links branches:{main,master} branches:release/** tags:v* pull-requests:**" {
		t.Errorf("Selectors() = %q", got)
	}
}
