package rotate

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/provision"
	"github.com/keyless-dev/keyless/rotate/target"
)

// Ages are the ages of an access key, from its IAM creation date, at which it is
// replaced, made inactive once unused, and deleted once inactive. The gap
// between Rotate and Deactivate is also the least time an old key is watched
// for use after every target got its successor, and the gap between Deactivate
// and Delete the least time a key stays inactive before it is deleted.
type Ages struct {
	Rotate     time.Duration // replace the key from this age
	Deactivate time.Duration // make an unused old key inactive from this age
	Delete     time.Duration // delete an inactive key from this age
}

// DefaultAges are 90, 100 and 110 days.
func DefaultAges() Ages {
	return Ages{Rotate: provision.DefaultRotateAge, Deactivate: provision.DefaultDeactivateAge, Delete: provision.DefaultDeleteAge}
}

func (a Ages) check() error {
	if a.Rotate < 0 || a.Rotate > a.Deactivate || a.Deactivate > a.Delete {
		return fmt.Errorf("ages must grow from 0: rotate %s ≤ deactivate %s ≤ delete %s", days(a.Rotate), days(a.Deactivate), days(a.Delete))
	}
	return nil
}

// UserConfig is one user of keyless.yaml's rotation section, before its
// targets' clients are built (which reads their tokens).
type UserConfig struct {
	// Name is the IAM user name.
	Name string
	// Secret is the Secrets Manager secret name or ARN.
	Secret string
	// Ages are the user's effective ages.
	Ages Ages
	// Targets are the CI variable scopes to push the key into.
	Targets []TargetConfig
}

// TargetConfig is one target of a user: Type says which of Bitbucket, GitHub
// and GitLab is set.
type TargetConfig struct {
	// Type is provision.TargetBitbucket, TargetGitHub or TargetGitLab.
	Type string
	// URL replaces the provider's API root; "" means the public service.
	URL string
	// Names are the variable names.
	Names target.Names
	// Bitbucket, GitHub and GitLab are the scope, for the Type given.
	Bitbucket target.BitbucketConfig
	GitHub    target.GitHubConfig // for TargetGitHub
	GitLab    target.GitLabConfig // for TargetGitLab
}

// id identifies the target across runs: its type, API root, scope and names.
func (c TargetConfig) id() string {
	return strings.Join([]string{c.Type, c.URL,
		c.Bitbucket.Workspace, c.Bitbucket.Repo, c.Bitbucket.Environment,
		c.GitHub.Owner, c.GitHub.Repo, c.GitHub.Environment, c.GitHub.Org,
		c.GitLab.Project, c.GitLab.Group, c.GitLab.EnvironmentScope,
		c.Names.AccessKeyID, c.Names.SecretAccessKey}, "\x00")
}

// Configs returns the users of a validated rotation section with their
// effective ages and variable names.
func Configs(spec *provision.RotationSpec) []UserConfig {
	if spec == nil {
		return nil
	}
	out := make([]UserConfig, 0, len(spec.Users))
	for i, u := range spec.Users {
		uc := UserConfig{Name: u.User, Secret: u.Secret}
		uc.Ages.Rotate, uc.Ages.Deactivate, uc.Ages.Delete = spec.AgesFor(i)
		for j, t := range u.Targets {
			v := spec.VariablesFor(i, j)
			tc := TargetConfig{Type: t.Type, URL: t.URL, Names: target.Names{AccessKeyID: v.AccessKeyID, SecretAccessKey: v.SecretAccessKey}}
			switch t.Type {
			case provision.TargetBitbucket:
				tc.Bitbucket = target.BitbucketConfig{Workspace: t.Workspace, Repo: t.Repository, Environment: t.Deployment}
			case provision.TargetGitHub:
				owner, repo, _ := strings.Cut(t.Repository, "/")
				tc.GitHub = target.GitHubConfig{Owner: owner, Repo: repo, Environment: t.Environment, Org: t.Org,
					Visibility: t.Visibility, SelectedRepositoryIDs: t.SelectedRepositoryIDs}
			case provision.TargetGitLab:
				tc.GitLab = target.GitLabConfig{Project: t.Project, Group: t.Group, EnvironmentScope: t.EnvironmentScope, Protected: t.Protected}
			}
			uc.Targets = append(uc.Targets, tc)
		}
		out = append(out, uc)
	}
	return out
}

// Target is a CI variable scope and the names the key is written under there.
type Target struct {
	target.Target
	// Names are the two variable names.
	Names target.Names
	// ID identifies the target across runs (its record on the secret is keyed by
	// it); "" means its Name and Names.
	ID string
}

func (t Target) id() string {
	if t.ID != "" {
		return t.ID
	}
	return t.Name() + "\x00" + t.Names.AccessKeyID + "\x00" + t.Names.SecretAccessKey
}

// User is one IAM user to rotate, with its targets' clients built.
type User struct {
	// Name is the IAM user name.
	Name string
	// Secret is the Secrets Manager secret name or ARN that holds the live key.
	Secret string
	// Ages say when to rotate, deactivate and delete.
	Ages Ages
	// Targets are where the key is pushed.
	Targets []Target
}

func (u User) check() error {
	if u.Name == "" || u.Secret == "" {
		return errors.New("a user needs its IAM user name and its secret")
	}
	if err := u.Ages.check(); err != nil {
		return fmt.Errorf("user %s: %w", u.Name, err)
	}
	return nil
}

// Build makes the targets' clients, reading their tokens through o.Getenv.
// o.BaseURL is replaced by each target's URL.
func (c UserConfig) Build(o target.Options) (User, error) {
	u := User{Name: c.Name, Secret: c.Secret, Ages: c.Ages}
	for _, tc := range c.Targets {
		to := o
		to.BaseURL = tc.URL
		var (
			t   target.Target
			err error
		)
		switch tc.Type {
		case provision.TargetBitbucket:
			t, err = target.NewBitbucket(tc.Bitbucket, to)
		case provision.TargetGitHub:
			t, err = target.NewGitHub(tc.GitHub, to)
		case provision.TargetGitLab:
			t, err = target.NewGitLab(tc.GitLab, to)
		default:
			err = fmt.Errorf("unknown target type %q", tc.Type)
		}
		if err != nil {
			return User{}, fmt.Errorf("user %s: target: %w", c.Name, err)
		}
		u.Targets = append(u.Targets, Target{Target: t, Names: tc.Names, ID: tc.id()})
	}
	return u, u.check()
}

// days formats a duration as days when whole, else as Go does.
func days(d time.Duration) string {
	const day = 24 * time.Hour
	if d%day == 0 {
		return fmt.Sprintf("%dd", d/day)
	}
	return d.Round(time.Second).String()
}
