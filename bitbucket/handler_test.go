package bitbucket

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/issuer"
	"github.com/keyless-dev/keyless/store"
)

// TestAuth: every Bitbucket route wants the token, as a bearer token or as
// the password of Basic authentication; without it the answer is a 401 in
// Bitbucket's error shape.
func TestAuth(t *testing.T) {
	f := newFixture(t)
	id := f.mustCreate(repoColl, "KEY", "v", false)
	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	paths := []string{wsColl, repoColl, prodColl, item(repoColl, id), "/2.0/repositories/acme/web/environments/"}
	tests := []struct {
		name, auth string
		want       int
		message    string
	}{
		{"no header", "", http.StatusUnauthorized, "Authentication required: send Authorization: Bearer $KEYLESS_BITBUCKET_TOKEN"},
		{"wrong token", "Bearer klbb_wrong", http.StatusUnauthorized, "Token is invalid, expired, or not supported for this endpoint"},
		{"empty bearer", "Bearer ", http.StatusUnauthorized, "Token is invalid"},
		{"token with another scheme", "Token " + testToken, http.StatusUnauthorized, "Token is invalid"},
		{"token as Basic user", basic(testToken, ""), http.StatusUnauthorized, "Token is invalid"},
		{"token prefix", "Bearer " + testToken[:len(testToken)-1], http.StatusUnauthorized, "Token is invalid"},
		{"bearer", "Bearer " + testToken, http.StatusOK, ""},
		{"bearer, any case", "bearer " + testToken, http.StatusOK, ""},
		{"basic, token as app password", basic("anyone", testToken), http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, p := range paths {
				a := f.do(http.MethodGet, p, tt.auth, nil)
				if a.status != tt.want {
					t.Fatalf("GET %s: %d %s, want %d", p, a.status, a.raw, tt.want)
				}
				if tt.want != http.StatusUnauthorized {
					continue
				}
				if a.body["type"] != "error" || !strings.Contains(a.message(), tt.message) {
					t.Errorf("GET %s: body %s, want type error and a message with %q", p, a.raw, tt.message)
				}
				if strings.Contains(a.raw, testToken) {
					t.Errorf("GET %s: the 401 repeats the token", p)
				}
			}
			// Writes are refused too, and change nothing.
			if tt.want == http.StatusUnauthorized {
				if a := f.do(http.MethodPost, repoColl, tt.auth, map[string]any{"key": "SNEAKY", "value": "x"}); a.status != http.StatusUnauthorized {
					t.Errorf("POST without the token: %d", a.status)
				}
				if a := f.do(http.MethodDelete, item(repoColl, id), tt.auth, nil); a.status != http.StatusUnauthorized {
					t.Errorf("DELETE without the token: %d", a.status)
				}
			}
		})
	}
	vars, err := f.svc.List(t.Context(), Ref{Workspace: "acme", Repository: "web"})
	if err != nil || len(vars) != 1 || vars[0].Key != "KEY" {
		t.Errorf("after refused writes the repository holds %v, %v; want KEY alone", vars, err)
	}
}

// TestVariableLifecycle creates, reads, updates and deletes a variable in
// each scope, checking Bitbucket's statuses and shapes.
func TestVariableLifecycle(t *testing.T) {
	tests := []struct {
		name, collection, typ string
	}{
		{"workspace", wsColl, "pipeline_variable"},
		{"workspace, trailing slash", wsColl + "/", "pipeline_variable"},
		{"workspace by UUID", "/2.0/workspaces/%7B" + issuer.WorkspaceUUID("acme") + "%7D/pipelines-config/variables", "pipeline_variable"},
		{"repository", repoColl, "pipeline_variable"},
		{"repository, no trailing slash", strings.TrimSuffix(repoColl, "/"), "pipeline_variable"},
		{"repository by UUID", "/2.0/repositories/acme/%7B" + issuer.RepositoryUUID("acme", "web") + "%7D/pipelines_config/variables/", "pipeline_variable"},
		{"deployment", prodColl, "deployment_variable"},
		{"deployment, UUID without braces", "/2.0/repositories/acme/web/deployments_config/environments/" + prodUUID + "/variables", "deployment_variable"},
		{"deployment, trailing slash", prodColl + "/", "deployment_variable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			a := f.call(http.MethodPost, tt.collection, map[string]any{"type": "pipeline_variable", "key": "REGION", "value": "eu-west-1", "secured": false})
			if a.status != http.StatusCreated {
				t.Fatalf("POST: %d %s", a.status, a.raw)
			}
			id, _ := a.body["uuid"].(string)
			if _, ok := ParseUUID(id); !ok || !strings.HasPrefix(id, "{") {
				t.Fatalf("POST answered uuid %q, want a {UUID}", id)
			}
			want := map[string]any{"type": tt.typ, "uuid": id, "key": "REGION", "value": "eu-west-1", "secured": false}
			if !equalJSON(a.body, want) {
				t.Errorf("POST answered %s, want %v", a.raw, want)
			}
			loc := a.header.Get("Location")
			if !strings.HasPrefix(loc, f.srv.URL+"/2.0/") || !strings.HasSuffix(loc, "/"+url.PathEscape(id)) {
				t.Errorf("Location %q, want the variable's URL", loc)
			}

			got := f.call(http.MethodGet, item(tt.collection, id), nil)
			if got.status != http.StatusOK || !equalJSON(got.body, want) {
				t.Errorf("GET: %d %s, want %v", got.status, got.raw, want)
			}
			// The Location header is a URL that answers.
			req, _ := http.NewRequest(http.MethodGet, loc, nil)
			req.Header.Set("Authorization", "Bearer "+testToken)
			if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
				t.Errorf("GET Location: %v %v", resp, err)
			} else {
				resp.Body.Close()
			}

			// PUT as rotate/target sends it: the whole variable, its uuid included.
			up := f.call(http.MethodPut, item(tt.collection, id), map[string]any{"type": "pipeline_variable", "uuid": id, "key": "REGION", "value": "us-east-1", "secured": false})
			want["value"] = "us-east-1"
			if up.status != http.StatusOK || !equalJSON(up.body, want) {
				t.Errorf("PUT: %d %s, want %v", up.status, up.raw, want)
			}
			list := f.call(http.MethodGet, tt.collection, nil)
			if list.status != http.StatusOK || !equalJSON(list.body, map[string]any{"pagelen": 10, "size": 1, "page": 1, "values": []any{want}}) {
				t.Errorf("GET list: %d %s", list.status, list.raw)
			}

			del := f.call(http.MethodDelete, item(tt.collection, id), nil)
			if del.status != http.StatusNoContent || del.raw != "" {
				t.Errorf("DELETE: %d %q, want 204 and no body", del.status, del.raw)
			}
			for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
				a := f.call(m, item(tt.collection, id), map[string]any{"value": "x"})
				if a.status != http.StatusNotFound || a.body["type"] != "error" || !strings.Contains(a.message(), "not found") {
					t.Errorf("%s after DELETE: %d %s, want 404 in Bitbucket's shape", m, a.status, a.raw)
				}
			}
		})
	}
}

// equalJSON compares a decoded body with want, numbers and all.
func equalJSON(got map[string]any, want map[string]any) bool {
	return fmt.Sprint(normalize(got)) == fmt.Sprint(normalize(want))
}

func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	case []map[string]any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	case int:
		return float64(x)
	}
	return v
}

// TestConflict: a key the scope holds is a 409, on create and on a rename;
// the same key in another scope is another variable.
func TestConflict(t *testing.T) {
	f := newFixture(t)
	f.mustCreate(repoColl, "AWS_ACCESS_KEY_ID", "AKIA1", false)
	other := f.mustCreate(repoColl, "OTHER", "o", false)
	tests := []struct {
		name, method, path string
		body               map[string]any
		want               int
	}{
		{"create, same key", http.MethodPost, repoColl, map[string]any{"key": "AWS_ACCESS_KEY_ID", "value": "AKIA2"}, http.StatusConflict},
		{"create, same key secured", http.MethodPost, repoColl, map[string]any{"key": "AWS_ACCESS_KEY_ID", "value": "x", "secured": true}, http.StatusConflict},
		{"rename onto it", http.MethodPut, item(repoColl, other), map[string]any{"key": "AWS_ACCESS_KEY_ID"}, http.StatusConflict},
		{"create, other case", http.MethodPost, repoColl, map[string]any{"key": "aws_access_key_id", "value": "x"}, http.StatusCreated},
		{"create, workspace scope", http.MethodPost, wsColl, map[string]any{"key": "AWS_ACCESS_KEY_ID", "value": "x"}, http.StatusCreated},
		{"create, deployment scope", http.MethodPost, prodColl, map[string]any{"key": "AWS_ACCESS_KEY_ID", "value": "x"}, http.StatusCreated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := f.call(tt.method, tt.path, tt.body)
			if a.status != tt.want {
				t.Fatalf("%d %s, want %d", a.status, a.raw, tt.want)
			}
			if tt.want == http.StatusConflict && (a.body["type"] != "error" || !strings.Contains(a.message(), "already exists")) {
				t.Errorf("409 body %s", a.raw)
			}
		})
	}
	got, err := f.svc.Get(t.Context(), Ref{Workspace: "acme", Repository: "web"}, other)
	if err != nil || got.Key != "OTHER" {
		t.Errorf("after the refused rename the variable is %+v, %v", got, err)
	}
}

// TestNotFound: unknown or malformed names and UUIDs are 404s with a message
// saying what was not found.
func TestNotFound(t *testing.T) {
	f := newFixture(t)
	id := f.mustCreate(repoColl, "KEY", "v", false)
	strict := newFixture(t, noAutoRegister)
	const missing = "{00000000-0000-4000-8000-000000000000}"
	tests := []struct {
		name   string
		f      *fixture
		method string
		path   string
		want   string // in the message
	}{
		{"unknown variable", f, http.MethodGet, item(repoColl, missing), "Variable {00000000-0000-4000-8000-000000000000} not found in repository acme/web"},
		{"malformed variable UUID", f, http.MethodGet, item(repoColl, "KEY"), `Variable "KEY" not found`},
		{"variable of another scope", f, http.MethodGet, item(wsColl, id), "not found in workspace acme"},
		{"delete under another scope", f, http.MethodDelete, item(prodColl, id), "not found in deployment environment \"Production\""},
		{"unknown environment", f, http.MethodGet, "/2.0/repositories/acme/web/deployments_config/environments/%7B00000000-0000-4000-8000-000000000000%7D/variables", "Deployment environment {00000000-0000-4000-8000-000000000000} not found"},
		{"environment by name", f, http.MethodGet, "/2.0/repositories/acme/web/deployments_config/environments/Production/variables", "name it by its {UUID}"},
		{"unknown workspace UUID", f, http.MethodGet, "/2.0/workspaces/%7B00000000-0000-4000-8000-000000000000%7D/pipelines-config/variables", "Workspace {00000000-0000-4000-8000-000000000000} not found"},
		{"unknown repository UUID", f, http.MethodGet, "/2.0/repositories/acme/%7B00000000-0000-4000-8000-000000000000%7D/pipelines_config/variables/", "Repository {00000000-0000-4000-8000-000000000000} not found"},
		{"invalid workspace slug", f, http.MethodGet, "/2.0/workspaces/ACME!/pipelines-config/variables", `Workspace "ACME!" not found`},
		{"invalid repository slug", f, http.MethodGet, "/2.0/repositories/acme/Web/pipelines_config/variables/", "Repository acme/Web not found"},
		{"unregistered repository, auto_register off", strict, http.MethodGet, "/2.0/repositories/acme/api/pipelines_config/variables/", "Repository acme/api not found: this server registers no names on first use"},
		{"unregistered workspace, auto_register off", strict, http.MethodPost, "/2.0/workspaces/other/pipelines-config/variables", "Workspace other not found"},
		{"default environment, auto_register off", strict, http.MethodGet, "/2.0/repositories/acme/web/deployments_config/environments/%7B" + issuer.EnvironmentUUID("acme", "web", "Staging") + "%7D/variables", "not found"},
		{"environments of an unregistered repository, auto_register off", strict, http.MethodGet, "/2.0/repositories/acme/api/environments/", "Repository acme/api not found"},
		{"variable of an unregistered repository", f, http.MethodGet, item("/2.0/repositories/acme/api/pipelines_config/variables/", missing), "not found in repository acme/api"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.f.call(tt.method, tt.path, map[string]any{"key": "K", "value": "v"})
			if a.status != http.StatusNotFound || a.body["type"] != "error" || !strings.Contains(a.message(), tt.want) {
				t.Errorf("%s %s: %d %s, want 404 with %q", tt.method, tt.path, a.status, a.raw, tt.want)
			}
		})
	}
}

// TestBadInput: keys that are not Bitbucket's, and bodies that are not a
// variable, are 400s (413, 415) saying what to send.
func TestBadInput(t *testing.T) {
	f := newFixture(t)
	id := f.mustCreate(repoColl, "KEY", "v", false)
	tests := []struct {
		name, method, path string
		contentType        string
		body               string
		want               int
		message            string
	}{
		{"empty key", http.MethodPost, repoColl, "", `{"key":"","value":"v"}`, 400, "The variable key is empty"},
		{"key starting with a digit", http.MethodPost, repoColl, "", `{"key":"1KEY","value":"v"}`, 400, `Invalid variable key "1KEY"`},
		{"key with a dash", http.MethodPost, repoColl, "", `{"key":"MY-KEY","value":"v"}`, 400, "only ASCII letters, digits and underscores"},
		{"key with a space", http.MethodPost, repoColl, "", `{"key":"MY KEY","value":"v"}`, 400, "only ASCII letters"},
		{"key with a non-ASCII letter", http.MethodPost, repoColl, "", `{"key":"KÄY","value":"v"}`, 400, "only ASCII letters"},
		{"key too long", http.MethodPost, repoColl, "", `{"key":"` + strings.Repeat("K", MaxKeyLength+1) + `","value":"v"}`, 400, "at most 255"},
		{"no key", http.MethodPost, repoColl, "", `{"value":"v"}`, 400, "The variable has no key"},
		{"rename to a bad key", http.MethodPut, item(repoColl, id), "", `{"key":"9"}`, 400, `Invalid variable key "9"`},
		{"not JSON", http.MethodPost, repoColl, "", `key=K`, 400, "not a JSON object"},
		{"an array", http.MethodPost, repoColl, "", `[{"key":"K"}]`, 400, "not a JSON object"},
		{"broken JSON", http.MethodPost, repoColl, "", `{"key":"K"`, 400, "not valid JSON"},
		{"two objects", http.MethodPost, repoColl, "", `{"key":"K"} {"key":"L"}`, 400, "more after its JSON object"},
		{"secured not a boolean", http.MethodPost, repoColl, "", `{"key":"K","value":"v","secured":"yes"}`, 400, "secured must be true or false"},
		{"value not a string", http.MethodPost, repoColl, "", `{"key":"K","value":42}`, 400, "value must be a string"},
		{"form body", http.MethodPost, repoColl, "application/x-www-form-urlencoded", `{"key":"K"}`, 415, "send the variable as application/json"},
		{"too large", http.MethodPost, repoColl, "", `{"key":"K","value":"` + strings.Repeat("v", MaxBody) + `"}`, 413, "larger than"},
		{"bad pagelen", http.MethodGet, repoColl + "?pagelen=ten", "", "", 400, `Invalid pagelen "ten"`},
		{"pagelen 0", http.MethodGet, repoColl + "?pagelen=0", "", "", 400, "1 to 100"},
		{"page 0", http.MethodGet, repoColl + "?page=0", "", "", 400, "pages are numbered from 1"},
		{"negative page", http.MethodGet, repoColl + "?page=-2", "", "", 400, "pages are numbered from 1"},
		{"method on a collection", http.MethodDelete, repoColl, "", "", 405, "use GET, POST"},
		{"method on a variable", http.MethodPost, item(repoColl, id), "", `{}`, 405, "use GET, PUT, DELETE"},
		{"method on environments", http.MethodPost, "/2.0/repositories/acme/web/environments/", "", `{}`, 405, "use GET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := f.doRaw(tt.method, tt.path, tt.contentType, tt.body)
			if a.status != tt.want || a.body["type"] != "error" || !strings.Contains(a.message(), tt.message) {
				t.Errorf("%d %s, want %d with %q", a.status, a.raw, tt.want, tt.message)
			}
			if tt.want == 405 && a.header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	}
	vars, err := f.svc.List(t.Context(), Ref{Workspace: "acme", Repository: "web"})
	if err != nil || len(vars) != 1 {
		t.Errorf("after refused writes the repository holds %v, %v; want KEY alone", vars, err)
	}
	// Good keys are taken.
	for _, k := range []string{"_", "a", "A_1", "_9", "lower_case", strings.Repeat("K", MaxKeyLength)} {
		if a := f.call(http.MethodPost, repoColl, map[string]any{"key": k, "value": "v"}); a.status != http.StatusCreated {
			t.Errorf("key %.20q: %d %s", k, a.status, a.raw)
		}
	}
}

// doRaw sends body as it is, with contentType (application/json when empty
// and there is a body), and the API token.
func (f *fixture) doRaw(method, path, contentType, body string) answer {
	f.t.Helper()
	req, err := http.NewRequestWithContext(f.t.Context(), method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	if contentType == "" && body != "" {
		contentType = "application/json"
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(data)}
	if err := json.Unmarshal(data, &a.body); err != nil {
		f.t.Fatalf("%s %s: body is not a JSON object: %v\n%s", method, path, err, data)
	}
	return a
}

// TestSecuredRedaction: a secured value is stored sealed and never comes
// back through the API, in any answer; only a step gets it.
func TestSecuredRedaction(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	created := f.call(http.MethodPost, prodColl, map[string]any{"key": "AWS_SECRET_ACCESS_KEY", "value": secretValue, "secured": true})
	if created.status != http.StatusCreated {
		t.Fatalf("POST: %d %s", created.status, created.raw)
	}
	id, _ := created.body["uuid"].(string)
	answers := map[string]answer{
		"POST":      created,
		"GET":       f.call(http.MethodGet, item(prodColl, id), nil),
		"GET list":  f.call(http.MethodGet, prodColl, nil),
		"PUT key":   f.call(http.MethodPut, item(prodColl, id), map[string]any{"uuid": id, "key": "AWS_SECRET_ACCESS_KEY", "secured": true}),
		"PUT value": f.call(http.MethodPut, item(prodColl, id), map[string]any{"key": "AWS_SECRET_ACCESS_KEY", "value": secretValue + "2", "secured": true}),
	}
	for name, a := range answers {
		if a.status/100 != 2 {
			t.Errorf("%s: %d %s", name, a.status, a.raw)
		}
		if strings.Contains(a.raw, secretValue) || strings.Contains(a.raw, `"value"`) {
			t.Errorf("%s answered a secured value: %s", name, a.raw)
		}
	}
	// Sealed at rest.
	sc := store.VariableScope{Workspace: "acme", Repository: "web", Environment: "Production"}
	uid, _ := ParseUUID(id)
	raw, err := f.st.GetPipelineVariable(ctx, sc, uid)
	if err != nil {
		t.Fatal(err)
	}
	if !raw.Secured || strings.Contains(string(raw.Value), secretValue) {
		t.Errorf("stored secured variable holds its value in plain text (secured %t)", raw.Secured)
	}
	// A step gets the value.
	step, err := f.svc.StepVariables(ctx, "acme", "web", "Production")
	if err != nil || len(step) != 1 || step[0].Value != secretValue+"2" || !step[0].Secured {
		t.Errorf("StepVariables = %d variables, %v; want the secured value", len(step), err)
	}
	// Unsecuring with no value keeps the value, now shown; securing again hides it.
	un := f.call(http.MethodPut, item(prodColl, id), map[string]any{"secured": false})
	if un.body["value"] != secretValue+"2" || un.body["secured"] != false {
		t.Errorf("PUT secured false: %s", un.raw)
	}
	re := f.call(http.MethodPut, item(prodColl, id), map[string]any{"secured": true})
	if strings.Contains(re.raw, "value") {
		t.Errorf("PUT secured true: %s", re.raw)
	}
	if step, _ := f.svc.StepVariables(ctx, "acme", "web", "Production"); len(step) != 1 || step[0].Value != secretValue+"2" {
		t.Error("a secured value changed across securing and unsecuring")
	}
	// Formatting a step variable never shows a secured value.
	for _, s := range []string{fmt.Sprint(step[0]), fmt.Sprintf("%v %+v %#v %s %q", step[0], step[0], step[0], step[0], step[0])} {
		if strings.Contains(s, secretValue) {
			t.Errorf("formatted step variable shows the value: %s", s)
		}
	}
}

// TestPagination: pagelen (default 10, at most 100) and page, with
// absolute next and previous links that a client can follow.
func TestPagination(t *testing.T) {
	f := newFixture(t)
	for i := range 25 {
		f.mustCreate(wsColl, fmt.Sprintf("VAR_%02d", i), strconv.Itoa(i), i%5 == 0)
	}
	tests := []struct {
		query          string
		pagelen, page  int
		first, count   int
		next, previous string // query of the link, "" for none
	}{
		{"", 10, 1, 0, 10, "page=2&pagelen=10", ""},
		{"?page=2", 10, 2, 10, 10, "page=3&pagelen=10", "page=1&pagelen=10"},
		{"?page=3", 10, 3, 20, 5, "", "page=2&pagelen=10"},
		{"?page=4", 10, 4, 25, 0, "", "page=3&pagelen=10"},
		{"?page=5", 10, 5, 25, 0, "", ""},
		{"?page=99999999999999999999", 10, 1<<63 - 1, 25, 0, "", ""},
		{"?pagelen=100", 100, 1, 0, 25, "", ""},
		{"?pagelen=1000", 100, 1, 0, 25, "", ""},
		{"?pagelen=12&page=2", 12, 2, 12, 12, "page=3&pagelen=12", "page=1&pagelen=12"},
		{"?pagelen=25", 25, 1, 0, 25, "", ""},
		{"?pagelen=24", 24, 1, 0, 24, "page=2&pagelen=24", ""},
		{"?pagelen=1&page=25", 1, 25, 24, 1, "", "page=24&pagelen=1"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			a := f.call(http.MethodGet, wsColl+tt.query, nil)
			if a.status != http.StatusOK {
				t.Fatalf("%d %s", a.status, a.raw)
			}
			if a.body["pagelen"] != float64(tt.pagelen) || a.body["size"] != float64(25) || a.body["page"] != float64(tt.page) {
				t.Errorf("pagelen %v size %v page %v, want %d 25 %d", a.body["pagelen"], a.body["size"], a.body["page"], tt.pagelen, tt.page)
			}
			values, _ := a.body["values"].([]any)
			if values == nil {
				t.Fatalf("values missing or null: %s", a.raw)
			}
			if len(values) != tt.count {
				t.Fatalf("%d values, want %d", len(values), tt.count)
			}
			for i, v := range values {
				m := v.(map[string]any)
				n := tt.first + i
				if m["key"] != fmt.Sprintf("VAR_%02d", n) {
					t.Errorf("value %d is %v, want VAR_%02d", i, m["key"], n)
				}
				if _, has := m["value"]; has == (n%5 == 0) {
					t.Errorf("%v: value shown %t, secured %v", m["key"], has, m["secured"])
				}
			}
			for _, l := range []struct{ field, want string }{{"next", tt.next}, {"previous", tt.previous}} {
				got, _ := a.body[l.field].(string)
				if l.want == "" {
					if got != "" {
						t.Errorf("%s = %q, want none", l.field, got)
					}
					continue
				}
				if want := f.srv.URL + wsColl + "?" + l.want; got != want {
					t.Errorf("%s = %q, want %q", l.field, got, want)
				}
			}
		})
	}
	// Following next from the first page visits every variable once.
	seen := map[string]bool{}
	next := f.srv.URL + wsColl + "?pagelen=10"
	for pages := 0; next != ""; pages++ {
		if pages > 3 {
			t.Fatal("more than 3 pages of 10 for 25 variables")
		}
		a := f.call(http.MethodGet, strings.TrimPrefix(next, f.srv.URL), nil)
		for _, v := range a.body["values"].([]any) {
			seen[v.(map[string]any)["key"].(string)] = true
		}
		next, _ = a.body["next"].(string)
	}
	if len(seen) != 25 {
		t.Errorf("following next saw %d variables, want 25", len(seen))
	}
}

// TestEnvironments: a repository lists its registered environments with
// their UUIDs, and with auto_register Bitbucket's default ones with the UUIDs
// a mint would register them with.
func TestEnvironments(t *testing.T) {
	tests := []struct {
		name string
		opts []fixtureOption
		path string
		want []map[string]any
	}{
		{"registered repository", nil, "/2.0/repositories/acme/web/environments/", []map[string]any{
			envJSON("Test", issuer.EnvironmentUUID("acme", "web", "Test"), "test", 0),
			envJSON("Staging", issuer.EnvironmentUUID("acme", "web", "Staging"), "staging", 1),
			envJSON("Production", prodUUID, "production", 2),
		}},
		{"without the trailing slash", nil, "/2.0/repositories/acme/web/environments", []map[string]any{
			envJSON("Test", issuer.EnvironmentUUID("acme", "web", "Test"), "test", 0),
			envJSON("Staging", issuer.EnvironmentUUID("acme", "web", "Staging"), "staging", 1),
			envJSON("Production", prodUUID, "production", 2),
		}},
		{"unregistered repository", nil, "/2.0/repositories/acme/api/environments/", []map[string]any{
			envJSON("Test", issuer.EnvironmentUUID("acme", "api", "Test"), "test", 0),
			envJSON("Staging", issuer.EnvironmentUUID("acme", "api", "Staging"), "staging", 1),
			envJSON("Production", issuer.EnvironmentUUID("acme", "api", "Production"), "production", 2),
		}},
		{"auto_register off", []fixtureOption{noAutoRegister}, "/2.0/repositories/acme/web/environments/", []map[string]any{
			envJSON("Production", prodUUID, "production", 2),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.opts...)
			a := f.call(http.MethodGet, tt.path, nil)
			values := make([]any, len(tt.want))
			for i, w := range tt.want {
				values[i] = w
			}
			want := map[string]any{"pagelen": 10, "size": len(tt.want), "page": 1, "values": values}
			if a.status != http.StatusOK || !equalJSON(a.body, want) {
				t.Errorf("%d %s\nwant %v", a.status, a.raw, want)
			}
		})
	}
	// A registered environment of another name is listed by type, then name.
	f := newFixture(t)
	if err := f.st.CreateEnvironment(t.Context(), store.Environment{Workspace: "acme", Repository: "web", Name: "QA 2", UUID: issuer.EnvironmentUUID("acme", "web", "QA 2")}); err != nil {
		t.Fatal(err)
	}
	envs, err := f.svc.Environments(t.Context(), "acme", "web")
	var names []string
	for _, e := range envs {
		names = append(names, e.Name+"/"+e.Slug()+"/"+e.Type())
	}
	if err != nil || strings.Join(names, " ") != "QA 2/qa-2/Test Test/test/Test Staging/staging/Staging Production/production/Production" {
		t.Errorf("Environments = %v, %v", names, err)
	}
}

// TestEnvironmentsCase: an environment registered as "production" (as a
// mint for --environment production does) is the repository's Production:
// the default is not listed beside it, and rotate/target finds it by either
// name.
func TestEnvironmentsCase(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	lower := issuer.EnvironmentUUID("acme", "api", "production")
	for _, err := range []error{
		f.st.CreateRepository(ctx, store.Repository{Workspace: "acme", Slug: "api", UUID: issuer.RepositoryUUID("acme", "api")}),
		f.st.CreateEnvironment(ctx, store.Environment{Workspace: "acme", Repository: "api", Name: "production", UUID: lower}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	envs, err := f.svc.Environments(ctx, "acme", "api")
	var got []string
	for _, e := range envs {
		got = append(got, e.Name+"="+e.UUID)
	}
	want := "Test=" + issuer.EnvironmentUUID("acme", "api", "Test") + " Staging=" + issuer.EnvironmentUUID("acme", "api", "Staging") + " production=" + lower
	if err != nil || strings.Join(got, " ") != want {
		t.Errorf("Environments = %v, %v\nwant %s", got, err, want)
	}
}

func envJSON(name, id, slug string, rank int) map[string]any {
	return map[string]any{
		"type": "deployment_environment", "uuid": "{" + id + "}", "name": name, "slug": slug, "rank": rank, "hidden": false,
		"environment_type": map[string]any{"type": "deployment_environment_type", "name": name, "rank": rank},
	}
}

// TestAutoRegister: reads of an unregistered repository see no variables and
// register nothing; the first write registers the workspace, repository and
// environment with the UUIDs a mint would give them.
func TestAutoRegister(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	staging := issuer.EnvironmentUUID("beta", "api", "Staging")
	coll := "/2.0/repositories/beta/api/deployments_config/environments/%7B" + staging + "%7D/variables"
	for _, p := range []string{"/2.0/workspaces/beta/pipelines-config/variables", "/2.0/repositories/beta/api/pipelines_config/variables/", coll} {
		a := f.call(http.MethodGet, p, nil)
		if a.status != http.StatusOK || a.body["size"] != float64(0) {
			t.Errorf("GET %s: %d %s, want an empty list", p, a.status, a.raw)
		}
	}
	if _, err := f.st.GetWorkspace(ctx, "beta"); err == nil {
		t.Fatal("a read registered the workspace")
	}
	f.mustCreate(coll, "DEPLOY_TARGET", "staging", false)
	ws, err := f.st.GetWorkspace(ctx, "beta")
	if err != nil || ws.UUID != issuer.WorkspaceUUID("beta") {
		t.Errorf("workspace %+v, %v; want it registered with the derived UUID", ws, err)
	}
	repo, err := f.st.GetRepository(ctx, "beta", "api")
	if err != nil || repo.UUID != issuer.RepositoryUUID("beta", "api") {
		t.Errorf("repository %+v, %v; want it registered with the derived UUID", repo, err)
	}
	env, err := f.st.GetEnvironment(ctx, "beta", "api", "Staging")
	if err != nil || env.UUID != staging {
		t.Errorf("environment %+v, %v; want Staging registered with the derived UUID", env, err)
	}
	step, err := f.svc.StepVariables(ctx, "beta", "api", "Staging")
	if err != nil || len(step) != 1 || step[0].Value != "staging" || step[0].Scope != ScopeDeployment {
		t.Errorf("StepVariables = %v, %v", step, err)
	}
}

// TestStepVariables: a runner reads a step's variables, later scopes
// overriding earlier ones, secured values included; others are refused.
func TestStepVariables(t *testing.T) {
	f := newFixture(t)
	f.mustCreate(wsColl, "REGION", "eu-west-1", false)
	f.mustCreate(wsColl, "SHARED", "workspace", false)
	f.mustCreate(repoColl, "SHARED", "repository", false)
	f.mustCreate(repoColl, "AWS_SECRET_ACCESS_KEY", "repo-secret", true)
	f.mustCreate(prodColl, "AWS_SECRET_ACCESS_KEY", secretValue, true)
	f.mustCreate(prodColl, "it_s", "it's", false)
	tests := []struct {
		name, query, auth string
		status            int
		want              string // the variables as KEY=VALUE/scope, or the error's code and message
	}{
		{"deployment step", "workspace=acme&repository=web&environment=Production", "runner", 200,
			"AWS_SECRET_ACCESS_KEY=" + secretValue + "/deployment REGION=eu-west-1/workspace SHARED=repository/repository it_s=it's/deployment"},
		{"repository step", "workspace=acme&repository=web", "runner", 200,
			"AWS_SECRET_ACCESS_KEY=repo-secret/repository REGION=eu-west-1/workspace SHARED=repository/repository"},
		{"unregistered environment", "workspace=acme&repository=web&environment=Staging", "runner", 200,
			"AWS_SECRET_ACCESS_KEY=repo-secret/repository REGION=eu-west-1/workspace SHARED=repository/repository"},
		{"unregistered repository", "workspace=acme&repository=api", "runner", 200, "REGION=eu-west-1/workspace"},
		{"no runner credential", "workspace=acme&repository=web", "", 401, "Unauthorized: missing or invalid runner credential"},
		{"the Bitbucket token is not a runner's", "workspace=acme&repository=web", "Bearer " + testToken, 401, "Unauthorized"},
		{"workspace of another runner", "workspace=other&repository=web", "runner", 403, `Forbidden: runner "test" may not read the variables of workspace "other"`},
		{"no repository", "workspace=acme", "runner", 400, "InvalidRequest: no repository"},
		{"bad repository", "workspace=acme&repository=Web", "runner", 400, "InvalidRequest: invalid repository slug"},
		{"bad environment", "workspace=acme&repository=web&environment=%2Fetc", "runner", 400, "InvalidRequest: invalid deployment environment name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			auth := tt.auth
			if auth == "runner" {
				auth = "Bearer " + f.runner
			}
			a := f.do(http.MethodGet, StepVariablesPath+"?"+tt.query, auth, nil)
			if a.status != tt.status {
				t.Fatalf("%d %s, want %d", a.status, a.raw, tt.status)
			}
			var got string
			if tt.status == 200 {
				var parts []string
				for _, v := range a.body["variables"].([]any) {
					m := v.(map[string]any)
					parts = append(parts, fmt.Sprintf("%s=%s/%s", m["key"], m["value"], m["scope"]))
				}
				got = strings.Join(parts, " ")
				if a.header.Get("Cache-Control") != "no-store" {
					t.Error("step variables may be cached")
				}
			} else {
				e := a.body["error"].(map[string]any)
				got = fmt.Sprintf("%s: %s", e["code"], e["message"])
			}
			if !strings.HasPrefix(got, tt.want) {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	if a := f.do(http.MethodPost, StepVariablesPath, "Bearer "+f.runner, nil); a.status != 405 || a.header.Get("Allow") != "GET" {
		t.Errorf("POST: %d %s", a.status, a.raw)
	}
	// The client reads the same.
	vars, err := FetchStepVariables(t.Context(), nil, f.srv.URL+"/", f.runner, "acme", "web", "Production")
	if err != nil || len(vars) != 4 || vars[0].Value != secretValue {
		t.Errorf("FetchStepVariables = %v, %v", vars, err)
	}
	_, err = FetchStepVariables(t.Context(), nil, f.srv.URL, "klr_x_y", "acme", "web", "")
	var ie *issuer.Error
	if !errors.As(err, &ie) || ie.Code != issuer.CodeUnauthorized {
		t.Errorf("FetchStepVariables with a wrong credential: %v", err)
	}
}
