package mimetype

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/internal/testenv"
)

// notPython are the extensions whose type deliberately differs from Python's
// mimetypes (see the comments in the table).
var notPython = map[string]bool{
	"cjs": true, "map": true, "yaml": true, "yml": true, "weba": true, "ts": true,
	"gz": true, "tgz": true, "bz2": true, "xz": true,
}

func TestByName(t *testing.T) {
	tests := []struct {
		name string
		want string // "" for none
	}{
		{"index.html", "text/html"},
		{"INDEX.HTML", "text/html"},
		{"a/b/app.JS", "text/javascript"},
		{"app.min.mjs", "text/javascript"},
		{"app.js.map", "application/json"},
		{"site.webmanifest", "application/manifest+json"},
		{"fonts/x.Woff2", "font/woff2"},
		{"img/a.avif", "image/avif"},
		{"m.wasm", "application/wasm"},
		{"seg-001.ts", "video/mp2t"},
		{"app.js.gz", "application/gzip"},
		{"site.tar.gz", "application/gzip"},
		{"config.yml", "application/yaml"},
		{"Makefile", ""},
		{".htaccess", ""},
		{"dir/.env", ""},
		{"...", ""},
		{"a.", ""},
		{"dir.d/README", ""},
		{"x.unknownext", ""},
		{"..hidden.css", "text/css"},
	}
	for _, tt := range tests {
		got, ok := ByName(tt.name)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("ByName(%q) = %q, %v, want %q", tt.name, got, ok, tt.want)
		}
	}
}

func TestTableKeys(t *testing.T) {
	for ext, typ := range types {
		if ext != strings.ToLower(ext) || strings.Contains(ext, ".") || ext == "" {
			t.Errorf("table key %q is not a lower-case extension without its dot", ext)
		}
		if !strings.Contains(typ, "/") {
			t.Errorf("%s: %q is not a media type", ext, typ)
		}
	}
	for ext := range notPython {
		if _, ok := types[ext]; !ok {
			t.Errorf("notPython lists %q, which is not in the table", ext)
		}
	}
}

// TestTableMatchesPython compares the table with what Python's mimetypes
// module — which the AWS CLI asks for the Content-Type of every upload —
// answers on this machine, for every extension where the table claims to
// agree, and reports those where it deliberately does not.
func TestTableMatchesPython(t *testing.T) {
	py := testenv.Python3(t)
	exts := make([]string, 0, len(types))
	for ext := range types {
		exts = append(exts, ext)
	}
	slices.Sort(exts)
	in, _ := json.Marshal(exts)
	script := `import json, mimetypes, os, sys
exts = json.loads(sys.argv[1])
files = [f for f in mimetypes.knownfiles if os.path.exists(f)]
json.dump({"files": files, "types": {e: mimetypes.guess_type("x." + e)[0] for e in exts}}, sys.stdout)
`
	out, err := exec.Command(py, "-c", script, string(in)).Output()
	if err != nil {
		t.Fatalf("python3 mimetypes: %v", err)
	}
	var got struct {
		Files []string           `json:"files"`
		Types map[string]*string `json:"types"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	testenv.Require(t, "a mime.types file (Debian's media-types) for python3's mimetypes", len(got.Files) > 0,
		"none of mimetypes.knownfiles exists, so Python answers from its smaller built-in table, which the AWS CLI on a deploy machine does not")
	for _, ext := range exts {
		pyType := "(none)"
		if p := got.Types[ext]; p != nil {
			pyType = *p
		}
		if notPython[ext] {
			t.Logf(".%s: keyless %s, python %s (deliberately different)", ext, types[ext], pyType)
			continue
		}
		if types[ext] != pyType {
			t.Errorf(".%s: keyless %s, python3 (with %s) %s", ext, types[ext], strings.Join(got.Files, ", "), pyType)
		}
	}
}

// splitextRef is Python's posixpath.splitext, for the extension ByName uses.
func splitextRef(p string) string {
	sep := strings.LastIndex(p, "/")
	dot := strings.LastIndex(p, ".")
	if dot > sep {
		for i := sep + 1; i < dot; i++ {
			if p[i] != '.' {
				return p[dot:]
			}
		}
	}
	return ""
}

func FuzzByName(f *testing.F) {
	for _, s := range []string{"index.html", ".htaccess", "a/b.c/d", "x.TAR.GZ", "...", "a.", "..a.css"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		ext := splitextRef(name)
		want, wantOK := "", false
		if ext != "" {
			want, wantOK = types[strings.ToLower(ext[1:])]
		}
		got, ok := ByName(name)
		if got != want || ok != wantOK {
			t.Fatalf("ByName(%q) = %q, %v; Python's splitext gives extension %q, so %q, %v", name, got, ok, ext, want, wantOK)
		}
	})
}
