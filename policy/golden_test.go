package policy

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the explanations in testdata/*.json (decisions are never rewritten)")

// golden is one testdata/*.json file: a simulation input and the expected result.
// The decision is written and checked by hand; -update only rewrites the message
// and the structured explanation.
type golden struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Source      string          `json:"source"`
	Input       json.RawMessage `json:"input"`
	Want        goldenWant      `json:"want"`
}

type goldenWant struct {
	Decision Decision        `json:"decision"`
	Message  string          `json:"message"`
	Explain  json.RawMessage `json:"explain,omitempty"`
}

func TestGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var g golden
			if err := json.Unmarshal(data, &g); err != nil {
				t.Fatal(err)
			}
			sim, err := ParseSimulation(g.Input)
			if err != nil {
				t.Fatal(err)
			}
			res, err := sim.Run()
			if err != nil {
				t.Fatal(err)
			}
			if res.Decision != g.Want.Decision {
				t.Fatalf("decision %v, want %v (decisions are checked by hand and never updated)\n%s", res.Decision, g.Want.Decision, res.Explain)
			}
			in, _ := sim.Policies()
			if fast := EvaluateFast(Request{Principal: sim.Request.Principal, Action: sim.Request.Action, Resource: sim.Request.Resource, Context: contextOf(sim)}, in); fast.Decision != res.Decision {
				t.Errorf("EvaluateFast decision %v", fast.Decision)
			}
			explain, err := json.MarshalIndent(res.Explain, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			if *update {
				g.Want.Message = res.Explain.String()
				g.Want.Explain = explain
				var b bytes.Buffer
				enc := json.NewEncoder(&b)
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false)
				if err := enc.Encode(g); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got := res.Explain.String(); got != g.Want.Message {
				t.Errorf("message:\n%s\nwant:\n%s", got, g.Want.Message)
			}
			if !jsonEqual(t, explain, g.Want.Explain) {
				t.Errorf("explanation differs from the golden file; run go test ./policy -run TestGolden -update and review the diff\ngot:\n%s", explain)
			}
		})
	}
}

func contextOf(s *Simulation) Context {
	c := NewContext()
	for k, v := range s.Request.Context {
		c.Add(k, v...)
	}
	return c
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if len(b) == 0 {
		return false
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}
