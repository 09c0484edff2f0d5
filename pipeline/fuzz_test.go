package pipeline

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that Parse never panics, that it returns either a File or
// an error with positions, and that a parsed File holds its invariants.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yml")
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("pipelines:\n  default:\n    - step:\n        <<: *x\n"))
	f.Add([]byte("a: &a {<<: *a}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			if file != nil {
				t.Fatal("Parse returned a File and an error")
			}
			for _, fd := range SchemaFindings(err) {
				if fd.Line < 1 || fd.Message == "" {
					t.Fatalf("finding without a place or message: %+v", fd)
				}
			}
			return
		}
		if len(file.Selectors()) == 0 {
			t.Fatal("a parsed File has no pipeline")
		}
		for _, sel := range file.Selectors() {
			p, desc, err := file.Select(sel, "")
			if err != nil || p == nil || desc == "" {
				t.Fatalf("Select(%q): %v", sel, err)
			}
			if len(p.Stages) == 0 {
				t.Fatalf("%s has no stages", sel)
			}
			for _, st := range p.Stages {
				if len(st.Steps) == 0 {
					t.Fatalf("%s has an empty stage", sel)
				}
				for _, s := range st.Steps {
					if s == nil || len(s.Script) == 0 || s.Line < 1 {
						t.Fatalf("%s: step without script or line: %+v", sel, s)
					}
					for _, c := range s.Script {
						if (c.Shell == "") == (c.Pipe == "") {
							t.Fatalf("command is neither or both a shell line and a pipe: %+v", c)
						}
					}
				}
			}
		}
		_ = Validate(file, Options{})
		_, _, _ = file.Select("", "feature/x")
	})
}
