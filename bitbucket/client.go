package bitbucket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/keyless-dev/keyless/issuer"
)

// maxStepVariablesResponse bounds how much of the step variables answer is read.
const maxStepVariablesResponse = 8 << 20

// FetchStepVariables asks the keyless server at endpoint (its base URL, such
// as KEYLESS_ENDPOINT), as the runner whose credential is runnerToken, for the
// variables a step of repository in workspace gets (with environment, a
// deployment step's). hc sends the request (nil: http.DefaultClient). A
// refusal is an *issuer.Error with the API's code, field and message. The
// answer holds secured values: keep them out of logs (StepVariable's
// formatting does).
func FetchStepVariables(ctx context.Context, hc *http.Client, endpoint, runnerToken, workspace, repository, environment string) ([]StepVariable, error) {
	endpoint = strings.TrimRight(strings.TrimSpace(endpoint), "/")
	if !strings.HasPrefix(endpoint, "http://") && !strings.HasPrefix(endpoint, "https://") {
		return nil, fmt.Errorf("step variables: endpoint %q is not an http or https URL: give the keyless server's base URL (KEYLESS_ENDPOINT)", endpoint)
	}
	if runnerToken == "" {
		return nil, errors.New("step variables: no runner credential: give the runner token (KEYLESS_RUNNER_TOKEN)")
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	q := url.Values{"workspace": {workspace}, "repository": {repository}}
	if environment != "" {
		q.Set("environment", environment)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+StepVariablesPath+"?"+q.Encode(), nil)
	if err != nil {
		return nil, fmt.Errorf("step variables: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+runnerToken)
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("step variables: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxStepVariablesResponse))
	if err != nil {
		return nil, fmt.Errorf("step variables: read the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var eb issuer.ErrorBody
		if json.Unmarshal(data, &eb) == nil && eb.Error.Message != "" {
			return nil, &issuer.Error{Code: eb.Error.Code, Field: eb.Error.Field, Message: eb.Error.Message}
		}
		return nil, fmt.Errorf("step variables: %s answered %s (is it a keyless up that serves Bitbucket variables?)", endpoint, resp.Status)
	}
	var out stepVariablesJSON
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("step variables: malformed answer: %w", err)
	}
	for _, v := range out.Variables {
		if err := ValidKey(v.Key); err != nil {
			return nil, fmt.Errorf("step variables: the server sent a variable with an invalid key: %w", err)
		}
	}
	return out.Variables, nil
}
