package issuer

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// maxMintResponse bounds how much of the mint API's answer the client reads.
const maxMintResponse = 1 << 20

// Client calls the mint API of a keyless server (POST /keyless/v1/tokens) as a CI
// runner. It is safe for concurrent use.
type Client struct {
	endpoint string
	cred     string
	hc       *http.Client
}

// ClientOptions configures a Client.
type ClientOptions struct {
	// RootCAs are the CAs trusted for an https endpoint (nil: the system roots), such
	// as the system roots plus keyless up's local CA.
	RootCAs *x509.CertPool
	// HTTPClient replaces the client's own (which has RootCAs and a 30-second
	// timeout); RootCAs is then ignored.
	HTTPClient *http.Client
}

// NewClient returns a client for the server at endpoint (its base URL, such as
// KEYLESS_ENDPOINT) authenticating with the runner credential runnerToken.
func NewClient(endpoint, runnerToken string, opts ClientOptions) (*Client, error) {
	endpoint = strings.TrimRight(strings.TrimSpace(endpoint), "/")
	if endpoint == "" {
		return nil, errors.New("no endpoint: give the keyless server's base URL (KEYLESS_ENDPOINT)")
	}
	if !strings.HasPrefix(endpoint, "http://") && !strings.HasPrefix(endpoint, "https://") {
		return nil, fmt.Errorf("endpoint %q is not an http or https URL: give the keyless server's base URL, such as http://127.0.0.1:8400", endpoint)
	}
	if runnerToken == "" {
		return nil, errors.New("no runner credential: give the runner token (KEYLESS_RUNNER_TOKEN)")
	}
	hc := opts.HTTPClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: opts.RootCAs, MinVersion: tls.VersionTLS12}
		hc = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	}
	return &Client{endpoint: endpoint, cred: runnerToken, hc: hc}, nil
}

// Mint asks the server for a token. A refusal is an *Error carrying the API's code,
// field and message; transport failures are returned wrapped, so that errors.Is and
// errors.As see through to them.
func (c *Client) Mint(ctx context.Context, req MintRequest) (Token, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return Token{}, fmt.Errorf("encode the mint request: %w", err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+MintPath, bytes.NewReader(body))
	if err != nil {
		return Token{}, err
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Authorization", "Bearer "+c.cred)
	resp, err := c.hc.Do(hreq)
	if err != nil {
		return Token{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxMintResponse))
	if err != nil {
		return Token{}, fmt.Errorf("read response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var eb ErrorBody
		if json.Unmarshal(data, &eb) == nil && eb.Error.Message != "" {
			return Token{}, &Error{Code: eb.Error.Code, Field: eb.Error.Field, Message: eb.Error.Message}
		}
		return Token{}, fmt.Errorf("%s answered %s", c.endpoint, resp.Status)
	}
	var tok Token
	if err := json.Unmarshal(data, &tok); err != nil {
		return Token{}, fmt.Errorf("malformed response: %w", err)
	}
	if tok.Raw == "" {
		return Token{}, errors.New("malformed response: no token")
	}
	return tok, nil
}
