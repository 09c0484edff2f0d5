package issuer

import (
	"strconv"
	"strings"
)

// GitHubClaims is the claim set of a GitHub Actions job's ID token. GitHub writes its
// numeric IDs as strings, and so does keyless.
type GitHubClaims struct {
	Issuer               string `json:"iss"`
	Subject              string `json:"sub"`
	Audience             string `json:"aud"`
	Ref                  string `json:"ref"`
	RefType              string `json:"ref_type"`
	SHA                  string `json:"sha"`
	Repository           string `json:"repository"`
	RepositoryOwner      string `json:"repository_owner"`
	RepositoryID         string `json:"repository_id"`
	RepositoryOwnerID    string `json:"repository_owner_id"`
	RepositoryVisibility string `json:"repository_visibility"`
	Environment          string `json:"environment,omitempty"`
	Workflow             string `json:"workflow"`
	WorkflowRef          string `json:"workflow_ref"`
	JobWorkflowRef       string `json:"job_workflow_ref"`
	RunID                string `json:"run_id"`
	RunNumber            string `json:"run_number"`
	RunAttempt           string `json:"run_attempt"`
	Actor                string `json:"actor"`
	ActorID              string `json:"actor_id"`
	EventName            string `json:"event_name"`
	RunnerEnvironment    string `json:"runner_environment"`
	JWTID                string `json:"jti"`
	NotBefore            int64  `json:"nbf"`
	IssuedAt             int64  `json:"iat"`
	Expiry               int64  `json:"exp"`
}

// githubClaimsSupported is the claims_supported of the GitHub-shaped discovery document.
var githubClaimsSupported = []string{"sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "ref_type", "sha", "repository", "repository_id", "repository_owner", "repository_owner_id", "repository_visibility", "run_id", "run_number", "run_attempt", "actor", "actor_id", "workflow", "workflow_ref", "job_workflow_ref", "event_name", "environment", "runner_environment"}

// GitLabClaims is the claim set of a GitLab CI/CD job's ID token. GitLab writes its IDs
// and booleans as strings, except runner_id, and so does keyless.
type GitLabClaims struct {
	Issuer               string   `json:"iss"`
	Subject              string   `json:"sub"`
	Audience             Audience `json:"aud"`
	NamespaceID          string   `json:"namespace_id"`
	NamespacePath        string   `json:"namespace_path"`
	ProjectID            string   `json:"project_id"`
	ProjectPath          string   `json:"project_path"`
	UserID               string   `json:"user_id"`
	UserLogin            string   `json:"user_login"`
	UserEmail            string   `json:"user_email"`
	PipelineID           string   `json:"pipeline_id"`
	PipelineSource       string   `json:"pipeline_source"`
	JobID                string   `json:"job_id"`
	Ref                  string   `json:"ref"`
	RefType              string   `json:"ref_type"`
	RefProtected         string   `json:"ref_protected"`
	Environment          string   `json:"environment,omitempty"`
	EnvironmentProtected string   `json:"environment_protected,omitempty"`
	DeploymentTier       string   `json:"deployment_tier,omitempty"`
	RunnerID             int64    `json:"runner_id"`
	RunnerEnvironment    string   `json:"runner_environment"`
	SHA                  string   `json:"sha"`
	CIConfigRefURI       string   `json:"ci_config_ref_uri"`
	CIConfigSHA          string   `json:"ci_config_sha"`
	ProjectVisibility    string   `json:"project_visibility"`
	JWTID                string   `json:"jti"`
	NotBefore            int64    `json:"nbf"`
	IssuedAt             int64    `json:"iat"`
	Expiry               int64    `json:"exp"`
}

// gitlabClaimsSupported is the claims_supported of the GitLab-shaped discovery document.
var gitlabClaimsSupported = []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "namespace_id", "namespace_path", "project_id", "project_path", "user_id", "user_login", "user_email", "pipeline_id", "pipeline_source", "job_id", "ref", "ref_type", "ref_protected", "environment", "environment_protected", "deployment_tier", "runner_id", "runner_environment", "sha", "ci_config_ref_uri", "ci_config_sha", "project_visibility"}

// githubSubject is GitHub's default sub: the environment of a job that has one, else
// pull_request for pull-request events, else the ref.
func githubSubject(n ciNames, ref string) string {
	switch {
	case n.env != "":
		return "repo:" + n.path + ":environment:" + n.env
	case n.event == "pull_request":
		return "repo:" + n.path + ":pull_request"
	}
	return "repo:" + n.path + ":ref:" + ref
}

// githubClaims builds a GitHub Actions job's claims; runID is the run's fresh ID.
func (is *Issuer) githubClaims(n ciNames, aud []string, runID int64, jti string, iat, exp int64) GitHubClaims {
	ref := "refs/heads/" + n.refName
	if n.refType == "tag" {
		ref = "refs/tags/" + n.refName
	}
	audience := DefaultCIAudience
	if len(aud) == 1 {
		audience = aud[0]
	}
	workflowRef := n.path + "/.github/workflows/" + githubWorkflow + ".yml@" + ref
	return GitHubClaims{
		Issuer:               is.GitHubIssuerURL(),
		Subject:              githubSubject(n, ref),
		Audience:             audience,
		Ref:                  ref,
		RefType:              n.refType,
		SHA:                  n.sha,
		Repository:           n.path,
		RepositoryOwner:      n.namespace,
		RepositoryID:         GitHubRepositoryID(n.namespace, n.name),
		RepositoryOwnerID:    GitHubAccountID(n.namespace),
		RepositoryVisibility: "private",
		Environment:          n.env,
		Workflow:             githubWorkflow,
		WorkflowRef:          workflowRef,
		JobWorkflowRef:       workflowRef,
		RunID:                strconv.FormatInt(runID, 10),
		RunNumber:            strconv.FormatInt(runID%1000+1, 10),
		RunAttempt:           "1",
		Actor:                n.actor,
		ActorID:              GitHubAccountID(n.actor),
		EventName:            n.event,
		RunnerEnvironment:    "github-hosted",
		JWTID:                jti,
		NotBefore:            iat,
		IssuedAt:             iat,
		Expiry:               exp,
	}
}

// gitlabClaims builds a GitLab CI/CD job's claims; pipelineID and jobID are fresh.
func (is *Issuer) gitlabClaims(n ciNames, aud []string, pipelineID, jobID int64, jti string, iat, exp int64) GitLabClaims {
	iss := is.GitLabIssuerURL()
	a := Audience{Values: []string{DefaultCIAudience}}
	if len(aud) > 0 {
		a = Audience{Values: aud, AsArray: len(aud) > 1}
	}
	refPath := "refs/heads/" + n.refName
	if n.refType == "tag" {
		refPath = "refs/tags/" + n.refName
	}
	protected := "false"
	if n.refType == "branch" && n.refName == defaultCIBranch {
		protected = "true" // the default branch, protected as GitLab protects it by default
	}
	c := GitLabClaims{
		Issuer:            iss,
		Subject:           "project_path:" + n.path + ":ref_type:" + n.refType + ":ref:" + n.refName,
		Audience:          a,
		NamespaceID:       GitLabNamespaceID(n.namespace),
		NamespacePath:     n.namespace,
		ProjectID:         GitLabProjectID(n.path),
		ProjectPath:       n.path,
		UserID:            GitLabUserID(n.actor),
		UserLogin:         n.actor,
		UserEmail:         n.actor + "@example.com",
		PipelineID:        strconv.FormatInt(pipelineID, 10),
		PipelineSource:    n.event,
		JobID:             strconv.FormatInt(jobID, 10),
		Ref:               n.refName,
		RefType:           n.refType,
		RefProtected:      protected,
		RunnerID:          numericID("gitlab:runner", "keyless"),
		RunnerEnvironment: "gitlab-hosted",
		SHA:               n.sha,
		CIConfigRefURI:    strings.TrimPrefix(iss, "https://") + "/" + n.path + "//.gitlab-ci.yml@" + refPath,
		CIConfigSHA:       n.sha,
		ProjectVisibility: "private",
		JWTID:             jti,
		NotBefore:         iat,
		IssuedAt:          iat,
		Expiry:            exp,
	}
	if n.env != "" {
		c.Environment, c.EnvironmentProtected, c.DeploymentTier = n.env, "false", gitlabTier(n.env)
	}
	return c
}
