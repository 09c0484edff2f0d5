package provision

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

const rotationConfig = `name: legacy
rotation:
  ages: {rotate: 30d, deactivate: 40d, delete: 50d}
  users:
    - user: ci-legacy
      secret: ci/legacy-deployer
      variables: {access_key_id: LEGACY_KEY_ID}
      targets:
        - {type: bitbucket, workspace: acme, repository: web, deployment: production}
        - {type: bitbucket, workspace: acme, repository: web, deployment: "{7c7d2f4e-5a3b-4c1d-9e8f-0a1b2c3d4e5f}"}
        - {type: bitbucket, workspace: acme}
        - {type: github, repository: acme/web, environment: production, variables: {secret_access_key: LEGACY_SECRET}}
        - {type: github, org: acme, visibility: selected, selected_repository_ids: [1296269]}
        - {type: gitlab, project: acme/web, protected: true, masked: true, environment_scope: production, url: "https://gitlab.example.com"}
        - {type: gitlab, group: "42"}
    - user: backup
      secret: arn:aws:secretsmanager:eu-west-1:123456789012:secret:backup-AbCdEf
      ages: {rotate: 36h, deactivate: 2d, delete: 3}
      targets:
        - {type: bitbucket, workspace: acme, url: "http://127.0.0.1:8080"}
`

// TestRotationParses reads every kind of target, resolves ages and variable
// names through their levels, and accepts a config without providers when it
// has a rotation section (Desired then has nothing to provision).
func TestRotationParses(t *testing.T) {
	s, err := Parse("keyless.yaml", []byte(rotationConfig))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	r := s.Rotation
	if r == nil || len(r.Users) != 2 || len(r.Users[0].Targets) != 7 {
		t.Fatalf("rotation = %+v", r)
	}
	if rot, deact, del := r.AgesFor(0); rot != 30*Day || deact != 40*Day || del != 50*Day {
		t.Errorf("ages of user 0 = %v %v %v", rot, deact, del)
	}
	if rot, deact, del := r.AgesFor(1); rot != 36*time.Hour || deact != 2*Day || del != 3*Day {
		t.Errorf("ages of user 1 = %v %v %v", rot, deact, del)
	}
	if got, want := r.VariablesFor(0, 3), (RotationVariables{"LEGACY_KEY_ID", "LEGACY_SECRET"}); got != want {
		t.Errorf("variables of target 3 = %+v, want %+v", got, want)
	}
	if got, want := r.VariablesFor(1, 0), (RotationVariables{DefaultAccessKeyIDVariable, DefaultSecretAccessKeyVariable}); got != want {
		t.Errorf("default variables = %+v, want %+v", got, want)
	}
	gl := r.Users[0].Targets[5]
	if gl.Type != TargetGitLab || gl.Project != "acme/web" || !gl.Protected || gl.Masked == nil || !*gl.Masked || gl.EnvironmentScope != "production" || gl.URL != "https://gitlab.example.com" {
		t.Errorf("gitlab target = %+v", gl)
	}
	gh := r.Users[0].Targets[4]
	if gh.Org != "acme" || gh.Visibility != "selected" || !reflect.DeepEqual(gh.SelectedRepositoryIDs, []int64{1296269}) {
		t.Errorf("github org target = %+v", gh)
	}
	st, err := Desired(s)
	if err != nil {
		t.Fatalf("Desired of a rotation-only config: %v", err)
	}
	if len(st.Roles) != 0 || len(st.Providers) != 0 {
		t.Errorf("Desired = %+v, want nothing", st)
	}
}

// TestRotationDefaults: without ages the defaults are 90, 100 and 110 days.
func TestRotationDefaults(t *testing.T) {
	s, err := Parse("keyless.yaml", []byte("name: x\nrotation:\n  users: [{user: u, secret: s}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if rot, deact, del := s.Rotation.AgesFor(0); rot != 90*Day || deact != 100*Day || del != 110*Day {
		t.Errorf("default ages = %v %v %v", rot, deact, del)
	}
}

// TestRotationErrors: each mistake is refused with its position and what to
// write instead.
func TestRotationErrors(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"no users", "name: x\nrotation: {ages: {rotate: 90d}}\n",
			"keyless.yaml:2:1: rotation: no users to rotate"},
		{"bad age", "name: x\nrotation:\n  ages: {rotate: 3 months}\n  users: [{user: u, secret: s}]\n",
			`keyless.yaml:3:18: rotation.ages.rotate: "3 months" is not an age: write days such as 90d, or a duration such as 36h`},
		{"negative age", "name: x\nrotation:\n  ages: {rotate: -1h}\n  users: [{user: u, secret: s}]\n",
			`keyless.yaml:3:18: rotation.ages.rotate: "-1h" is negative`},
		{"ages out of order", "name: x\nrotation:\n  ages: {rotate: 120d}\n  users: [{user: u, secret: s}]\n",
			"keyless.yaml:3:3: rotation.ages: the ages must grow: rotate 120d ≤ deactivate 100d ≤ delete 110d"},
		{"user ages out of order", "name: x\nrotation:\n  users: [{user: u, secret: s, ages: {delete: 95d}}]\n",
			"keyless.yaml:3:32: rotation.users[0].ages: the ages must grow: rotate 90d ≤ deactivate 100d ≤ delete 95d"},
		{"unknown user key", "name: x\nrotation:\n  users: [{user: u, secret: s, target: []}]\n",
			`keyless.yaml:3:32: rotation.users[0]: unknown key "target" (did you mean "targets"?)`},
		{"no secret", "name: x\nrotation:\n  users: [{user: u}]\n",
			"keyless.yaml:3:11: rotation.users[0]: names no secret"},
		{"bad user", "name: x\nrotation:\n  users: [{user: \"a b\", secret: s}]\n",
			`keyless.yaml:3:18: rotation.users[0].user: "a b" is not an IAM user name`},
		{"duplicate user", "name: x\nrotation:\n  users: [{user: u, secret: s}, {user: U, secret: t}]\n",
			`keyless.yaml:3:40: rotation.users[1].user: the user "U" is also rotation.users[0]`},
		{"shared secret", "name: x\nrotation:\n  users: [{user: u, secret: s}, {user: v, secret: s}]\n",
			`keyless.yaml:3:51: rotation.users[1].secret: the secret "s" is also rotation.users[0]'s`},
		{"bad secret ARN", "name: x\nrotation:\n  users: [{user: u, secret: \"arn:aws:s3:::b\"}]\n",
			`rotation.users[0].secret: "arn:aws:s3:::b" is not a Secrets Manager secret ARN`},
		{"no target type", "name: x\nrotation:\n  users: [{user: u, secret: s, targets: [{workspace: acme}]}]\n",
			"keyless.yaml:3:42: rotation.users[0].targets[0]: a target needs its type: write type: bitbucket, type: github, type: gitlab"},
		{"unknown target type", "name: x\nrotation:\n  users: [{user: u, secret: s, targets: [{type: gitbucket}]}]\n",
			`rotation.users[0].targets[0].type: unknown target type "gitbucket" (did you mean "bitbucket"?); the types are bitbucket, github, gitlab`},
		{"key of another type", "name: x\nrotation:\n  users: [{user: u, secret: s, targets: [{type: bitbucket, workspace: a, project: b}]}]\n",
			`rotation.users[0].targets[0]: unknown key "project"; a bitbucket target takes type, url, variables, workspace, repository, deployment`},
		{"deployment without repository", "name: x\nrotation:\n  users: [{user: u, secret: s, targets: [{type: bitbucket, workspace: a, deployment: prod}]}]\n",
			"rotation.users[0].targets[0].deployment: a deployment environment belongs to a repository: add repository: <slug>"},
		{"github repository shape", "name: x\nrotation:\n  users: [{user: u, secret: s, targets: [{type: github, repository: web}]}]\n",
			`rotation.users[0].targets[0].repository: "web" is not a GitHub repository: write OWNER/REPO`},
		{"github org and repository", "name: x\nrotation:\n  users: [{user: u, secret: s, targets: [{type: github, org: a, repository: a/b}]}]\n",
			"rotation.users[0].targets[0]: give an org (organisation secrets) or a repository (OWNER/REPO), not both"},
		{"selected without ids", "name: x\nrotation:\n  users: [{user: u, secret: s, targets: [{type: github, org: a, visibility: selected}]}]\n",
			"rotation.users[0].targets[0].visibility: visibility selected needs selected_repository_ids"},
		{"gitlab unmasked", "name: x\nrotation:\n  users: [{user: u, secret: s, targets: [{type: gitlab, project: a/b, masked: false}]}]\n",
			"rotation.users[0].targets[0].masked: the secret access key is always masked"},
		{"gitlab neither", "name: x\nrotation:\n  users: [{user: u, secret: s, targets: [{type: gitlab}]}]\n",
			"rotation.users[0].targets[0]: a gitlab target needs project"},
		{"http url", "name: x\nrotation:\n  users: [{user: u, secret: s, targets: [{type: gitlab, group: g, url: \"http://gitlab.example.com\"}]}]\n",
			`rotation.users[0].targets[0].url: "http://gitlab.example.com": use https (plain http is for loopback hosts only)`},
		{"variable name", "name: x\nrotation:\n  users: [{user: u, secret: s, variables: {access_key_id: AWS-KEY}}]\n",
			`rotation.users[0].variables.access_key_id: "AWS-KEY" is not a CI variable name`},
		{"same variable twice", "name: x\nrotation:\n  users: [{user: u, secret: s, variables: {access_key_id: K, secret_access_key: K}, targets: [{type: bitbucket, workspace: a}]}]\n",
			"rotation.users[0].targets[0].variables: both variables are named K"},
		{"duplicate target", "name: x\nrotation:\n  users: [{user: u, secret: s, targets: [{type: bitbucket, workspace: a}, {type: bitbucket, workspace: a}]}]\n",
			"rotation.users[0].targets[1]: the same variables as rotation.users[0].targets[0]: list each target once"},
		{"providers still needed without rotation", "name: x\n",
			"providers: no providers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse("keyless.yaml", []byte(tc.src))
			if err == nil {
				err = s.Validate()
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

// TestParseAge reads days and durations and refuses the rest.
func TestParseAge(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"90d", 90 * Day, true}, {"90", 90 * Day, true}, {"0d", 0, true}, {"0s", 0, true},
		{"36h", 36 * time.Hour, true}, {"1h30m", 90 * time.Minute, true},
		{"", 0, false}, {"d", 0, false}, {"-1d", 0, false}, {"-5m", 0, false}, {"90 days", 0, false}, {"99999d", 0, false},
	} {
		got, err := ParseAge(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseAge(%q) = %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// FuzzParseAge: no input panics, an accepted age is never negative, and a
// whole number of days reads back the same.
func FuzzParseAge(f *testing.F) {
	for _, s := range []string{"90d", "0", "36h", "-1d", "1.5h", "d", " 7d ", "99999999999999999999d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseAge(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if d < 0 {
			t.Fatalf("ParseAge(%q) = %v, negative", s, d)
		}
		if d%Day == 0 {
			if back, err := ParseAge(formatAge(d)); err != nil || back != d {
				t.Fatalf("ParseAge(formatAge(%v)) = %v, %v", d, back, err)
			}
		}
	})
}
