package render_test

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/provision"
	"github.com/keyless-dev/keyless/provision/render"
	"github.com/keyless-dev/keyless/provision/render/internal/rendertest"
)

func TestSplit(t *testing.T) {
	A, P := render.Part{Ref: render.Account}, render.Part{Ref: render.Partition}
	lit := func(s string) render.Part { return render.Part{Text: s} }
	for _, c := range []struct {
		in   string
		want []render.Part
	}{
		{"", nil},
		{"s3:GetObject", []render.Part{lit("s3:GetObject")}},
		{"arn:aws:iam::<account-id>:role/x", []render.Part{lit("arn:"), P, lit(":iam::"), A, lit(":role/x")}},
		{"arn:aws:iam::123456789012:policy/b", []render.Part{lit("arn:"), P, lit(":iam::123456789012:policy/b")}},
		{"arn:aws-cn:s3:::b", []render.Part{lit("arn:aws-cn:s3:::b")}},
		{"<account-id>", []render.Part{A}},
		{"${aws:username}", []render.Part{lit("${aws:username}")}},
	} {
		if got := render.Split(c.in, "aws"); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Split(%q) = %+v, want %+v", c.in, got, c.want)
		}
	}
}

func TestIdentifiers(t *testing.T) {
	got, err := render.Identifiers([]string{"deploy-web", "deploy_web", "release", "1x"}, render.Pascal, "X")
	if err != nil {
		t.Fatal(err)
	}
	if got[2] != "Release" || got[3] != "1x" || got[0] == got[1] || !strings.HasPrefix(got[0], "DeployWebX") || len(got[0]) != len("DeployWebX")+8 {
		t.Errorf("Identifiers = %v", got)
	}
	again, _ := render.Identifiers([]string{"deploy_web", "other", "deploy-web"}, render.Pascal, "X")
	if again[0] != got[1] || again[2] != got[0] {
		t.Errorf("an identifier depends on the other names: %v then %v", got, again)
	}
	if s := render.Snake("Deploy-Web.prod"); s != "deploy_web_prod" {
		t.Errorf("Snake = %q", s)
	}
}

// TestJSON checks that the json format is the state's own JSON, and that
// renderers refuse a state whose source_ips are not resolved.
func TestJSON(t *testing.T) {
	st := rendertest.State(t, "bitbucket")
	files, err := render.JSON{}.Render(st)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := st.JSON()
	if len(files) != 1 || files[0].Name != "state.json" || !bytes.Equal(files[0].Data, want) {
		t.Errorf("json renders %+v", files)
	}
	spec, err := provision.Load("../testdata/bitbucket.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pending, err := provision.Desired(spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (render.JSON{}).Render(pending); err == nil || !strings.Contains(err.Error(), "cdk-infra") {
		t.Errorf("rendering a pending state: %v", err)
	}
}
