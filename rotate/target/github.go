package target

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/crypto/nacl/box"
)

// EnvGitHubToken holds the GitHub token, sent as Bearer.
const EnvGitHubToken = "GITHUB_TOKEN"

// DefaultGitHubURL is GitHub.com's API root; GitHub Enterprise Server's is
// https://HOST/api/v3.
const DefaultGitHubURL = "https://api.github.com"

// GitHub organisation secret visibilities.
const (
	VisibilityAll      = "all"
	VisibilityPrivate  = "private"
	VisibilitySelected = "selected"
)

// GitHubConfig says which GitHub Actions secrets to write: a repository's
// (Owner and Repo), one of its environments' (and Environment), or an
// organisation's (Org alone).
type GitHubConfig struct {
	Owner       string
	Repo        string
	Environment string
	Org         string
	// Visibility of an organisation secret: "all", "private" (the default) or
	// "selected", with SelectedRepositoryIDs.
	Visibility            string
	SelectedRepositoryIDs []int64
}

// github writes one scope's Actions secrets.
type github struct {
	c      *client
	cfg    GitHubConfig
	name   string
	prefix string // escaped path up to and without "/secrets"
}

// NewGitHub returns the Target for cfg, with the token from GITHUB_TOKEN read
// through o.Getenv. GitHub keeps every variable as an encrypted secret, sealed
// to the scope's public key.
func NewGitHub(cfg GitHubConfig, o Options) (Target, error) {
	var name, prefix string
	switch {
	case cfg.Org != "" && (cfg.Owner != "" || cfg.Repo != "" || cfg.Environment != ""):
		return nil, errors.New("github: give an organisation, or an owner and repository, not both")
	case cfg.Org != "":
		name = "github organisation " + cfg.Org
		prefix = "/orgs/" + seg(cfg.Org) + "/actions"
		switch cfg.Visibility {
		case "":
			cfg.Visibility = VisibilityPrivate
		case VisibilityAll, VisibilityPrivate:
		case VisibilitySelected:
			if len(cfg.SelectedRepositoryIDs) == 0 {
				return nil, fmt.Errorf("%s: visibility %q needs the selected repository IDs", name, cfg.Visibility)
			}
		default:
			return nil, fmt.Errorf("%s: visibility %q: use all, private or selected", name, cfg.Visibility)
		}
		if cfg.Visibility != VisibilitySelected && len(cfg.SelectedRepositoryIDs) > 0 {
			return nil, fmt.Errorf("%s: selected repository IDs need visibility %q", name, VisibilitySelected)
		}
	case cfg.Owner == "" || cfg.Repo == "":
		return nil, errors.New("github: give an owner and a repository (owner/repo), or an organisation")
	case cfg.Visibility != "" || len(cfg.SelectedRepositoryIDs) > 0:
		return nil, errors.New("github: visibility applies to organisation secrets only")
	case cfg.Environment != "":
		name = "github environment " + cfg.Owner + "/" + cfg.Repo + " " + cfg.Environment
		prefix = "/repos/" + seg(cfg.Owner) + "/" + seg(cfg.Repo) + "/environments/" + seg(cfg.Environment)
	default:
		name = "github repository " + cfg.Owner + "/" + cfg.Repo
		prefix = "/repos/" + seg(cfg.Owner) + "/" + seg(cfg.Repo) + "/actions"
	}
	c, err := newClient(name, DefaultGitHubURL, o, http.Header{
		"Accept":               {"application/vnd.github+json"},
		"X-Github-Api-Version": {"2022-11-28"},
	})
	if err != nil {
		return nil, err
	}
	token := getenv(o)(EnvGitHubToken)
	if token == "" {
		return nil, fmt.Errorf("%s: no credentials: set %s", name, EnvGitHubToken)
	}
	c.authorize = func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
	c.secrets = []string{token}
	return &github{c: c, cfg: cfg, name: name, prefix: prefix}, nil
}

func (g *github) Name() string   { return g.name }
func (g *github) String() string { return g.name }

// ghPublicKey is the scope's sealed-box key.
type ghPublicKey struct {
	KeyID string `json:"key_id"`
	Key   string `json:"key"`
}

// ghSecret is the body of a PUT …/secrets/{name}.
type ghSecret struct {
	EncryptedValue        string  `json:"encrypted_value"`
	KeyID                 string  `json:"key_id"`
	Visibility            string  `json:"visibility,omitempty"`
	SelectedRepositoryIDs []int64 `json:"selected_repository_ids,omitempty"`
}

// Put seals each value to the scope's public key and PUTs it; GitHub creates
// or updates alike.
func (g *github) Put(ctx context.Context, vars []Variable) error {
	for _, v := range vars {
		if err := validKey(v.Key); err != nil {
			return fmt.Errorf("%s: %w", g.name, err)
		}
		if strings.HasPrefix(strings.ToUpper(v.Key), "GITHUB_") {
			return fmt.Errorf("%s: secret name %q: GitHub reserves the GITHUB_ prefix", g.name, v.Key)
		}
	}
	c := g.c.hiding(vars)
	var pk ghPublicKey
	if err := c.do(ctx, request{method: http.MethodGet, path: g.prefix + "/secrets/public-key", out: &pk}); err != nil {
		return fmt.Errorf("%s: get public key: %w", g.name, err)
	}
	key, err := base64.StdEncoding.DecodeString(pk.Key)
	if err != nil || len(key) != 32 || pk.KeyID == "" {
		return fmt.Errorf("%s: get public key: want a key_id and a base64 32-byte key, got key_id %q and %d bytes", g.name, pk.KeyID, len(key))
	}
	var done []string
	for _, v := range vars {
		sealed, err := box.SealAnonymous(nil, []byte(v.Value), (*[32]byte)(key), rand.Reader)
		if err != nil {
			return putError(g.name, "encrypt", v.Key, done, err)
		}
		body := ghSecret{EncryptedValue: base64.StdEncoding.EncodeToString(sealed), KeyID: pk.KeyID}
		if g.cfg.Org != "" {
			body.Visibility = g.cfg.Visibility
			body.SelectedRepositoryIDs = g.cfg.SelectedRepositoryIDs
		}
		err = c.do(ctx, request{method: http.MethodPut, path: g.prefix + "/secrets/" + seg(v.Key), body: body})
		if err != nil {
			return putError(g.name, "put", v.Key, done, err)
		}
		done = append(done, v.Key)
	}
	return nil
}

// Get lists the scope's secret names (GitHub reports them upper-cased). No
// value can be read back, so every one is Secret with an empty Value.
func (g *github) Get(ctx context.Context) (map[string]Variable, error) {
	const perPage = 100
	out := map[string]Variable{}
	for page := 1; ; page++ {
		if page > maxPages {
			return nil, fmt.Errorf("%s: list secrets: more than %d pages", g.name, maxPages)
		}
		var list struct {
			TotalCount int `json:"total_count"`
			Secrets    []struct {
				Name string `json:"name"`
			} `json:"secrets"`
		}
		q := url.Values{"per_page": {strconv.Itoa(perPage)}, "page": {strconv.Itoa(page)}}
		if err := g.c.do(ctx, request{method: http.MethodGet, path: g.prefix + "/secrets", query: q, out: &list}); err != nil {
			return nil, fmt.Errorf("%s: list secrets: %w", g.name, err)
		}
		for _, s := range list.Secrets {
			out[s.Name] = Variable{Key: s.Name, Secret: true}
		}
		if len(list.Secrets) < perPage || len(out) >= list.TotalCount {
			return out, nil
		}
	}
}
