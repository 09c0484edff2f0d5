package console

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The console's assets run under a strict Content-Security-Policy (script-src
// 'self'; style-src 'self'; no inline code) and must work offline. These tests
// read the files the binary embeds and fail on anything the policy would block
// or that would reach outside the server, and check that the DOM ids, classes
// and attributes the browser tests rely on are present.

// assetFile is one embedded file's name and text.
type assetFile struct {
	name, text string
}

func readAssets(t *testing.T) []assetFile {
	t.Helper()
	fsys := os.DirFS("assets")
	var out []assetFile
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		out = append(out, assetFile{p, string(b)})
		return nil
	})
	if err != nil {
		t.Fatalf("read assets: %v", err)
	}
	if len(out) == 0 {
		t.Fatal("console/assets holds no files")
	}
	return out
}

func assetsByExt(t *testing.T, ext string) []assetFile {
	t.Helper()
	var out []assetFile
	for _, f := range readAssets(t) {
		if path.Ext(f.name) == ext {
			out = append(out, f)
		}
	}
	return out
}

func indexHTML(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("assets/index.html")
	if err != nil {
		t.Fatalf("read index.html: %v", err)
	}
	return string(b)
}

// htmlTag is a start tag of an HTML document: its name, attributes (lower-case
// names; a valueless attribute maps to ""), and the offset just past it.
type htmlTag struct {
	name  string
	attrs map[string]string
	end   int
}

var (
	tagRE  = regexp.MustCompile(`<([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^\s=/>]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]+))?)*)\s*/?>`)
	attrRE = regexp.MustCompile(`([^\s=/>]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]+))?`)
)

// parseTags returns the start tags of an HTML document.
func parseTags(doc string) []htmlTag {
	var tags []htmlTag
	for _, m := range tagRE.FindAllStringSubmatchIndex(doc, -1) {
		t := htmlTag{name: strings.ToLower(doc[m[2]:m[3]]), attrs: map[string]string{}, end: m[1]}
		for _, a := range attrRE.FindAllStringSubmatch(doc[m[4]:m[5]], -1) {
			t.attrs[strings.ToLower(a[1])] = strings.Trim(a[2], `"'`)
		}
		tags = append(tags, t)
	}
	return tags
}

// lintHTML reports inline code in an HTML file: an inline <script> body, a
// <style> element, a style= or on*= attribute, a javascript: URL; every script
// must be an external ES module.
func lintHTML(f assetFile) []string {
	var out []string
	tags := parseTags(f.text)
	scripts := 0
	for _, tag := range tags {
		for name := range tag.attrs {
			if name == "style" || strings.HasPrefix(name, "on") {
				out = append(out, fmt.Sprintf("%s: <%s> has attribute %s= (CSP forbids inline style and handlers)", f.name, tag.name, name))
			}
		}
		switch tag.name {
		case "style":
			out = append(out, fmt.Sprintf("%s: has a <style> element; put styles in app.css", f.name))
		case "script":
			scripts++
			if tag.attrs["src"] == "" {
				out = append(out, fmt.Sprintf("%s: <script> without src (inline script)", f.name))
			}
			if tag.attrs["type"] != "module" {
				out = append(out, fmt.Sprintf("%s: <script src=%q> is not type=module", f.name, tag.attrs["src"]))
			}
			if !strings.HasPrefix(strings.ToLower(f.text[tag.end:]), "</script>") {
				out = append(out, fmt.Sprintf("%s: <script src=%q> has a body", f.name, tag.attrs["src"]))
			}
		}
	}
	if n := strings.Count(strings.ToLower(f.text), "<script"); n != scripts {
		out = append(out, fmt.Sprintf("%s: %d <script occurrences but %d parsed script tags", f.name, n, scripts))
	}
	if strings.Contains(strings.ToLower(f.text), "javascript:") {
		out = append(out, fmt.Sprintf("%s: contains a javascript: URL", f.name))
	}
	return out
}

var (
	absURLRE   = regexp.MustCompile(`(?i)\b(?:https?|wss?|ftp):/?/`)
	protoRelRE = regexp.MustCompile("[\"'`(=]\\s*//[^/\\s]")
)

// lintURLs reports what would reach outside the server: an http(s)/ws(s)/ftp
// URL or a protocol-relative URL in any file, @import or a web font in CSS, and
// an HTML attribute URL that is not the server's own path, a fragment or data:.
func lintURLs(f assetFile) []string {
	var out []string
	if m := absURLRE.FindString(f.text); m != "" {
		out = append(out, fmt.Sprintf("%s: contains an absolute URL (%q…); the console must work offline", f.name, m))
	}
	if m := protoRelRE.FindString(f.text); m != "" {
		out = append(out, fmt.Sprintf("%s: contains a protocol-relative URL (%q…)", f.name, m))
	}
	switch path.Ext(f.name) {
	case ".css":
		for _, bad := range []string{"@import", "@font-face"} {
			if strings.Contains(strings.ToLower(f.text), bad) {
				out = append(out, fmt.Sprintf("%s: uses %s (no external styles or web fonts)", f.name, bad))
			}
		}
	case ".html":
		for _, tag := range parseTags(f.text) {
			for _, a := range []string{"src", "href", "action", "xlink:href", "srcset", "poster", "data"} {
				v, ok := tag.attrs[a]
				if !ok {
					continue
				}
				if !strings.HasPrefix(v, "/console/") && !strings.HasPrefix(v, "#") && !strings.HasPrefix(v, "data:") {
					out = append(out, fmt.Sprintf("%s: <%s %s=%q> is not a /console/ path, fragment or data: URL", f.name, tag.name, a, v))
				}
			}
		}
	}
	return out
}

// jsSinks are what the scripts must never use: parsing markup or code from
// strings, inline styles or handlers set as attributes, browser storage (where
// a pasted token could linger) and the cookie jar.
var jsSinks = []struct {
	re   *regexp.Regexp
	what string
}{
	{regexp.MustCompile(`\binnerHTML\b`), "innerHTML"},
	{regexp.MustCompile(`\bouterHTML\b`), "outerHTML"},
	{regexp.MustCompile(`\binsertAdjacentHTML\b`), "insertAdjacentHTML"},
	{regexp.MustCompile(`\bdocument\.write`), "document.write"},
	{regexp.MustCompile(`\bcreateContextualFragment\b`), "createContextualFragment"},
	{regexp.MustCompile(`\bparseFromString\b`), "DOMParser.parseFromString"},
	{regexp.MustCompile(`\beval\s*\(`), "eval"},
	{regexp.MustCompile(`\bFunction\s*\(`), "the Function constructor"},
	{regexp.MustCompile("\\bset(?:Timeout|Interval)\\s*\\(\\s*[\"'`]"), "setTimeout/setInterval with a string"},
	{regexp.MustCompile(`setAttribute\(\s*["'](?:style|on)`), "setAttribute of style or an on* handler"},
	{regexp.MustCompile(`[{,]\s*["']?(?:style|on[a-z]+)["']?\s*:`), "a style or on* key in an attribute object (dom.js h() sets it as an attribute)"},
	{regexp.MustCompile(`\b(?:local|session)Storage\b`), "Web Storage"},
	{regexp.MustCompile(`\bindexedDB\b`), "IndexedDB"},
	{regexp.MustCompile(`\bdocument\.cookie\b`), "document.cookie"},
}

// lintJS reports every dangerous sink a script uses, with its line.
func lintJS(f assetFile) []string {
	var out []string
	for _, s := range jsSinks {
		if loc := s.re.FindStringIndex(f.text); loc != nil {
			line := strings.Count(f.text[:loc[0]], "\n") + 1
			out = append(out, fmt.Sprintf("%s:%d: uses %s", f.name, line, s.what))
		}
	}
	return out
}

// lint runs every static check that applies to f.
func lint(f assetFile) []string {
	out := lintURLs(f)
	switch path.Ext(f.name) {
	case ".html":
		out = append(out, lintHTML(f)...)
	case ".js":
		out = append(out, lintJS(f)...)
	}
	return out
}

// TestAssetsPassLint: the embedded assets have no inline code, no external or
// protocol-relative URL and no dangerous script sink.
func TestAssetsPassLint(t *testing.T) {
	files := readAssets(t)
	for _, ext := range []string{".html", ".js", ".css"} {
		if !slices.ContainsFunc(files, func(f assetFile) bool { return path.Ext(f.name) == ext }) {
			t.Errorf("console/assets has no %s file", ext)
		}
	}
	for _, f := range files {
		for _, p := range lint(f) {
			t.Error(p)
		}
	}
}

// TestLintCatchesViolations: each check reports what it exists to catch, and
// clean files pass, so TestAssetsPassLint can fail.
func TestLintCatchesViolations(t *testing.T) {
	tests := []struct {
		name, file, text, want string
	}{
		{"inline script", "a.html", `<script>alert(1)</script>`, "inline script"},
		{"classic script", "a.html", `<script src="/console/assets/x.js"></script>`, "not type=module"},
		{"script body", "a.html", `<script type="module" src="/console/assets/x.js">x()</script>`, "has a body"},
		{"style element", "a.html", `<style>p{}</style>`, "<style> element"},
		{"style attribute", "a.html", `<p style="color:red">x</p>`, "style="},
		{"handler attribute", "a.html", `<button onclick="x()">x</button>`, "onclick="},
		{"uppercase handler", "a.html", `<IMG SRC="/console/a.png" ONERROR=x()>`, "onerror="},
		{"javascript URL", "a.html", `<a href="javascript:x()">x</a>`, "javascript:"},
		{"CDN script", "a.html", `<script type="module" src="https://cdn.example/x.js"></script>`, "absolute URL"},
		{"protocol-relative link", "a.html", `<link rel="stylesheet" href="//cdn.example/x.css">`, "protocol-relative"},
		{"foreign path", "a.html", `<img src="x.png" alt="">`, "not a /console/ path"},
		{"web font", "a.css", `@font-face { font-family: x; src: url(/x.woff2); }`, "@font-face"},
		{"css import", "a.css", `@import "/x.css";`, "@import"},
		{"css remote url", "a.css", `body { background: url(//cdn.example/x.png); }`, "protocol-relative"},
		{"js remote fetch", "a.js", `fetch("https://example.com/x")`, "absolute URL"},
		{"js protocol-relative", "a.js", "fetch(`//example.com/x`)", "protocol-relative"},
		{"innerHTML", "a.js", `el.innerHTML = data.role;`, "innerHTML"},
		{"insertAdjacentHTML", "a.js", `el.insertAdjacentHTML("beforeend", x)`, "insertAdjacentHTML"},
		{"eval", "a.js", `eval (x)`, "eval"},
		{"new Function", "a.js", `new Function("return 1")`, "Function constructor"},
		{"string timer", "a.js", `setTimeout("x()", 1)`, "with a string"},
		{"style attribute by script", "a.js", `el.setAttribute("style", "x")`, "setAttribute"},
		{"handler by script", "a.js", `el.setAttribute('onclick', "x")`, "setAttribute"},
		{"style via h()", "a.js", `h("p", { class: "x", style: "color:red" })`, "attribute object"},
		{"handler via h()", "a.js", `h("a", { onclick: "x()" })`, "attribute object"},
		{"localStorage", "a.js", `localStorage.setItem("t", token)`, "Web Storage"},
		{"sessionStorage", "a.js", `sessionStorage.t = token`, "Web Storage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := lint(assetFile{tt.file, tt.text})
			if !slices.ContainsFunc(got, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("lint(%q) = %q, want a problem containing %q", tt.text, got, tt.want)
			}
		})
	}
	clean := []assetFile{
		{"ok.html", `<!doctype html><link rel="stylesheet" href="/console/assets/app.css"><script type="module" src="/console/assets/app.js"></script><a href="#/keys">Keys</a><link rel="icon" href="data:,">`},
		{"ok.js", "// a comment\nel.textContent = data.role;\nsetTimeout(() => x(), 1);\nfetch(\"/console/api/me\");"},
		{"ok.css", `body { font-family: system-ui, sans-serif; }`},
	}
	for _, f := range clean {
		if got := lint(f); len(got) > 0 {
			t.Errorf("lint(%s) = %q, want no problem", f.name, got)
		}
	}
}

// jsText is the text of every script, for "is this string used" checks.
func jsText(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, f := range assetsByExt(t, ".js") {
		b.WriteString(f.text)
		b.WriteByte('\n')
	}
	return b.String()
}

// TestContractIDsExist: every DOM id of the console contract is in index.html
// (exactly once) or created by the scripts.
func TestContractIDsExist(t *testing.T) {
	ids := []string{
		"signin-form", "access-key-id", "secret-access-key", "signin-submit", "signin-error",
		"whoami", "signout",
		"activity-chart", "filter-role", "filter-repository", "filter-provider", "filter-decision", "activity-table",
		"decision-detail", "trustmap",
		"keys-timeline", "keys-next", "static-keys",
		"explain-token", "explain-role", "explain-submit", "explain-result",
	}
	html, js := indexHTML(t), jsText(t)
	seen := map[string]int{}
	for _, tag := range parseTags(html) {
		if id, ok := tag.attrs["id"]; ok {
			seen[id]++
		}
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("id %q appears %d times in index.html", id, n)
		}
	}
	for _, id := range ids {
		if seen[id] == 0 && !strings.Contains(js, `"`+id+`"`) {
			t.Errorf("contract id %q is neither in index.html nor created by the scripts", id)
		}
	}
}

// TestContractElements: the element kinds, classes and data attributes of the
// contract that index.html holds or the scripts create.
func TestContractElements(t *testing.T) {
	html, js := indexHTML(t), jsText(t)
	tags := parseTags(html)
	byID := map[string]htmlTag{}
	for _, tag := range tags {
		if id := tag.attrs["id"]; id != "" {
			byID[id] = tag
		}
	}
	kinds := []struct{ id, tag, typ string }{
		{"signin-form", "form", ""},
		{"access-key-id", "input", "text"},
		{"secret-access-key", "input", "password"},
		{"signin-submit", "button", "submit"},
		{"signout", "button", "button"},
		{"activity-chart", "svg", ""},
		{"activity-table", "table", ""},
		{"keys-timeline", "svg", ""},
		{"explain-token", "textarea", ""},
		{"explain-role", "input", "text"},
		{"explain-submit", "button", "submit"},
	}
	for _, k := range kinds {
		tag, ok := byID[k.id]
		if !ok {
			t.Errorf("index.html has no #%s", k.id)
			continue
		}
		if tag.name != k.tag || (k.typ != "" && tag.attrs["type"] != k.typ) {
			t.Errorf("#%s is <%s type=%q>, want <%s type=%q>", k.id, tag.name, tag.attrs["type"], k.tag, k.typ)
		}
	}
	// Fields that hold secrets have no name: a form submitted without the
	// scripts cannot send them anywhere, nor put them in a URL.
	for _, id := range []string{"access-key-id", "secret-access-key", "explain-token", "explain-role"} {
		if _, ok := byID[id].attrs["name"]; ok {
			t.Errorf("#%s has a name attribute; secret-bearing fields must not be form-submittable", id)
		}
	}
	// Every input, select and textarea has a label.
	labels := map[string]bool{}
	for _, tag := range tags {
		if tag.name == "label" {
			labels[tag.attrs["for"]] = true
		}
	}
	for _, tag := range tags {
		if (tag.name == "input" || tag.name == "select" || tag.name == "textarea") && !labels[tag.attrs["id"]] {
			t.Errorf("<%s id=%q> has no <label for>", tag.name, tag.attrs["id"])
		}
	}
	for _, v := range []string{"activity", "trustmap", "keys", "explain"} {
		re := regexp.MustCompile(`(?s)<nav\b.*<a\s[^>]*data-view="` + v + `".*</nav>`)
		if !re.MatchString(html) {
			t.Errorf("index.html has no nav a[data-view=%q]", v)
		}
	}
	// Strings the scripts must use to build the contract's dynamic elements.
	for _, s := range []string{
		`"data-event-id"`, `"data-decision"`,
		`"claims"`, `"trust-policy"`, `"failing"`, `"failing-condition"`, `"expected`, `"actual`, `"fix"`,
		`"provider"`, `"data-arn"`, `"data-role-arn"`, `"role"`, `flag-any-repository"`, `"any repository"`,
		`"key state-"`, `"data-kid"`, `"data-state"`, `"data-user"`,
		`"check status-"`, `"data-status"`,
		`"/console/api/activity/stream"`, `credentials: "same-origin"`, `"X-Keyless-Console": "1"`, `"application/json"`,
	} {
		if !strings.Contains(js, s) {
			t.Errorf("the scripts never use %s", s)
		}
	}
}

// TestAssetReferencesResolve: everything index.html loads and every module
// import names a file that is embedded, so the page works offline.
func TestAssetReferencesResolve(t *testing.T) {
	var names []string
	for _, f := range readAssets(t) {
		names = append(names, f.name)
	}
	refs := 0
	for _, tag := range parseTags(indexHTML(t)) {
		for _, a := range []string{"src", "href"} {
			v := tag.attrs[a]
			if (tag.name != "script" && tag.name != "link") || v == "" || strings.HasPrefix(v, "data:") {
				continue
			}
			refs++
			name, ok := strings.CutPrefix(v, "/console/assets/")
			if !ok || !slices.Contains(names, name) {
				t.Errorf("index.html loads %q, which is not an embedded asset", v)
			}
		}
	}
	if refs < 2 {
		t.Errorf("index.html loads %d assets, want the stylesheet and the app module", refs)
	}
	imp := regexp.MustCompile(`(?m)^\s*import\b[^"']*["']([^"']+)["']`)
	for _, f := range assetsByExt(t, ".js") {
		for _, m := range imp.FindAllStringSubmatch(f.text, -1) {
			if !strings.HasPrefix(m[1], "./") || !slices.Contains(names, path.Join(path.Dir(f.name), m[1])) {
				t.Errorf("%s imports %q, which is not an embedded module", f.name, m[1])
			}
		}
	}
}

// TestAssetsAreSmall keeps the console's page weight in budget.
func TestAssetsAreSmall(t *testing.T) {
	const budget = 64 << 10
	total := 0
	for _, f := range readAssets(t) {
		total += len(f.text)
	}
	if total > budget {
		t.Errorf("console assets total %d bytes, over the %d-byte budget", total, budget)
	}
}
