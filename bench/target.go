package bench

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Target is the `keyless up` a benchmark drives.
type Target struct {
	// Endpoint is the server's base URL (KEYLESS_ENDPOINT).
	Endpoint string
	// AccountID, AccessKeyID and SecretAccessKey are the local account's root
	// credentials (KEYLESS_ACCOUNT_ID, KEYLESS_ROOT_*), for setting up roles
	// and buckets and for signing S3 requests.
	AccountID       string
	AccessKeyID     string
	SecretAccessKey string
	// RunnerToken authorizes minting tokens (KEYLESS_RUNNER_TOKEN).
	RunnerToken string
	// Issuer and Audience are the default workspace's issuer URL and token
	// audience (KEYLESS_ISSUER, KEYLESS_AUDIENCE).
	Issuer   string
	Audience string
	// Workspace is the default workspace slug (KEYLESS_WORKSPACE).
	Workspace string
	// RootCAs trust the server's certificate for an https endpoint.
	RootCAs *x509.CertPool
}

// TargetFromEnv reads a Target from the variables keyless up writes to
// DIR/env, looked up with getenv.
func TargetFromEnv(getenv func(string) string) Target {
	return Target{
		Endpoint:        getenv("KEYLESS_ENDPOINT"),
		AccountID:       getenv("KEYLESS_ACCOUNT_ID"),
		AccessKeyID:     getenv("KEYLESS_ROOT_ACCESS_KEY_ID"),
		SecretAccessKey: getenv("KEYLESS_ROOT_SECRET_ACCESS_KEY"),
		RunnerToken:     getenv("KEYLESS_RUNNER_TOKEN"),
		Issuer:          getenv("KEYLESS_ISSUER"),
		Audience:        getenv("KEYLESS_AUDIENCE"),
		Workspace:       getenv("KEYLESS_WORKSPACE"),
	}
}

// CheckLoopback returns an error unless endpoint is an http or https URL
// whose host is localhost or a loopback address: the load generator drives
// only a server on this machine.
func CheckLoopback(endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("endpoint %q is not an http or https URL such as http://127.0.0.1:8400", endpoint)
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("endpoint %s is not a loopback address: keyless bench drives only a keyless up on this machine (127.0.0.0/8, ::1 or localhost)", endpoint)
}

// Validate checks that t names a loopback endpoint.
func (t Target) Validate() error {
	if t.Endpoint == "" {
		return errors.New("no endpoint: start keyless up and pass --data DIR (its data directory), or --endpoint")
	}
	return CheckLoopback(t.Endpoint)
}

// httpClient is a client keeping up to conns idle connections to the target.
func (t Target) httpClient(conns int) *http.Client {
	tr := &http.Transport{
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     &tls.Config{RootCAs: t.RootCAs, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:   false,
	}
	return &http.Client{Transport: tr}
}

// baseURL is the endpoint without a trailing slash.
func (t Target) baseURL() string { return strings.TrimRight(t.Endpoint, "/") }
