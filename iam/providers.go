package iam

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/keyless-dev/keyless/arn"
	"github.com/keyless-dev/keyless/store"
)

// Quotas of OpenID Connect providers.
const (
	maxProviders         = 100
	maxClientIDs         = 100
	maxThumbprints       = 5
	quotaProvidersPerAcc = "Cannot exceed quota for OpenIdConnectProvidersPerAccount: 100"
	quotaClientIDs       = "Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: 100"
)

// providerARN is the ARN of the provider for a URL stored without its scheme.
func (s *Service) providerARN(url string) string {
	return arn.OIDCProvider(arn.DefaultPartition, s.cfg.Account, url).String()
}

// providerURL checks a provider URL as IAM does — https, a host, no query or
// fragment, no port unless AllowPortInProviderURL — and returns it without the
// scheme (host[:port][/path]), trailing slash preserved.
func (s *Service) providerURL(raw string) (string, error) {
	const scheme = "https://"
	if len(raw) < len(scheme) || !strings.EqualFold(raw[:len(scheme)], scheme) {
		return "", invalidInput("Invalid provider URL " + raw + ": it must begin with https://")
	}
	rest := raw[len(scheme):]
	if strings.ContainsAny(rest, "?#") {
		return "", invalidInput("Invalid provider URL " + raw + ": it must not contain a query string or fragment")
	}
	if strings.ContainsAny(rest, " \t\r\n@\\") {
		return "", invalidInput("Invalid provider URL " + raw)
	}
	host, _, _ := strings.Cut(rest, "/")
	name, port, hasPort := strings.Cut(host, ":")
	if strings.HasPrefix(host, "[") { // IPv6 literal
		end := strings.Index(host, "]")
		if end < 0 {
			return "", invalidInput("Invalid provider URL " + raw)
		}
		name = host[:end+1]
		port, hasPort = strings.CutPrefix(host[end+1:], ":")
		if !hasPort && host[end+1:] != "" {
			return "", invalidInput("Invalid provider URL " + raw)
		}
	}
	if name == "" {
		return "", invalidInput("Invalid provider URL " + raw + ": it has no host")
	}
	if hasPort {
		if !s.cfg.AllowPortInProviderURL {
			return "", invalidInput("Invalid provider URL " + raw + ": a port is not allowed")
		}
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '0' {
			return "", invalidInput("Invalid provider URL " + raw + ": invalid port")
		}
	}
	return rest, nil
}

// providerURLResult is the Url GetOpenIDConnectProvider returns for a provider
// URL stored without its scheme: that URL, as IAM returns it — except when its
// host holds a colon (a port or an IPv6 literal: only local issuers have them; IAM
// refuses ports), which comes back with its https:// scheme. Clients that parse
// the Url cannot parse "host:port/path", whose first segment holds a colon:
// Terraform's AWS provider compares it with the configured URL through Go's
// url.Parse and would see a change, and plan a replacement, on every run.
func providerURLResult(url string) string {
	host, _, _ := strings.Cut(url, "/")
	if strings.Contains(host, ":") {
		return "https://" + url
	}
	return url
}

// providerInput is what CreateOpenIDConnectProvider asks for.
type providerInput struct {
	URL         string // without scheme
	ClientIDs   []string
	Thumbprints []string
	Tags        []store.Tag
}

// createProvider registers a provider; a duplicate URL is EntityAlreadyExists.
func (s *Service) createProvider(ctx context.Context, in providerInput) (store.OIDCProvider, error) {
	clientIDs := dedupe(in.ClientIDs)
	if len(clientIDs) > maxClientIDs {
		return store.OIDCProvider{}, limitExceeded(quotaClientIDs)
	}
	if err := checkThumbprints(in.Thumbprints); err != nil {
		return store.OIDCProvider{}, err
	}
	if err := checkTagKeys(nil, in.Tags); err != nil {
		return store.OIDCProvider{}, err
	}
	existing, err := s.st.ListOIDCProviders(ctx)
	if err != nil {
		return store.OIDCProvider{}, storeErr("create OIDC provider", err)
	}
	if len(existing) >= maxProviders {
		return store.OIDCProvider{}, limitExceeded(quotaProvidersPerAcc)
	}
	p := store.OIDCProvider{
		ARN:         s.providerARN(in.URL),
		URL:         in.URL,
		ClientIDs:   clientIDs,
		Thumbprints: dedupe(in.Thumbprints),
		Tags:        in.Tags,
		CreatedAt:   s.now(),
	}
	if err := s.st.CreateOIDCProvider(ctx, p); err != nil {
		if errors.Is(err, store.ErrAlreadyExists) {
			return store.OIDCProvider{}, entityAlreadyExists("Provider with url https://" + in.URL + " already exists.")
		}
		return store.OIDCProvider{}, storeErr("create OIDC provider", err)
	}
	return p, nil
}

// checkThumbprints refuses thumbprints that are not 40 hexadecimal digits.
func checkThumbprints(ts []string) error {
	for _, t := range ts {
		if !patThumbprint.re.MatchString(t) {
			return invalidInput("Thumbprint " + t + " is not a valid SHA-1 thumbprint: it must be 40 hexadecimal characters.")
		}
	}
	return nil
}

// getProvider returns a provider by ARN.
func (s *Service) getProvider(ctx context.Context, arn string) (store.OIDCProvider, error) {
	p, err := s.st.GetOIDCProvider(ctx, arn)
	if errors.Is(err, store.ErrNotFound) {
		return store.OIDCProvider{}, noSuchProvider(arn)
	}
	return p, storeErr("get OIDC provider", err)
}

// listProviders returns every provider, ordered by ARN.
func (s *Service) listProviders(ctx context.Context) ([]store.OIDCProvider, error) {
	ps, err := s.st.ListOIDCProviders(ctx)
	return ps, storeErr("list OIDC providers", err)
}

// updateProvider changes a provider in a transaction.
func (s *Service) updateProvider(ctx context.Context, arn string, fn func(*store.OIDCProvider) error) error {
	err := s.st.UpdateOIDCProvider(ctx, arn, func(p store.OIDCProvider) (store.OIDCProvider, error) {
		err := fn(&p)
		return p, err
	})
	if errors.Is(err, store.ErrNotFound) {
		return noSuchProvider(arn)
	}
	return storeErr("update OIDC provider", err)
}

// setThumbprints replaces a provider's thumbprints.
func (s *Service) setThumbprints(ctx context.Context, arn string, thumbprints []string) error {
	if err := checkThumbprints(thumbprints); err != nil {
		return err
	}
	return s.updateProvider(ctx, arn, func(p *store.OIDCProvider) error {
		p.Thumbprints = dedupe(thumbprints)
		return nil
	})
}

// addClientID adds an audience; adding one that is there already does nothing.
func (s *Service) addClientID(ctx context.Context, arn, clientID string) error {
	return s.updateProvider(ctx, arn, func(p *store.OIDCProvider) error {
		for _, c := range p.ClientIDs {
			if c == clientID {
				return nil
			}
		}
		if len(p.ClientIDs) >= maxClientIDs {
			return limitExceeded(quotaClientIDs)
		}
		p.ClientIDs = append(p.ClientIDs, clientID)
		return nil
	})
}

// removeClientID removes an audience; removing an absent one does nothing.
func (s *Service) removeClientID(ctx context.Context, arn, clientID string) error {
	return s.updateProvider(ctx, arn, func(p *store.OIDCProvider) error {
		p.ClientIDs = remove(p.ClientIDs, clientID)
		return nil
	})
}

// deleteProvider removes a provider.
func (s *Service) deleteProvider(ctx context.Context, arn string) error {
	err := s.st.DeleteOIDCProvider(ctx, arn)
	if errors.Is(err, store.ErrNotFound) {
		return noSuchProvider(arn)
	}
	return storeErr("delete OIDC provider", err)
}

// Tags (shared by providers, roles, users and policies).

const maxTags = 50

// checkTagKeys refuses duplicate keys (case-insensitively) in add, and more than
// 50 tags once add is merged into have.
func checkTagKeys(have, add []store.Tag) error {
	seen := map[string]bool{}
	for _, t := range add {
		k := strings.ToLower(t.Key)
		if seen[k] {
			return invalidInput("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
		seen[k] = true
	}
	if len(mergeTags(have, add)) > maxTags {
		return limitExceeded(fmt.Sprintf("Cannot exceed quota for TagsPerEntity: %d", maxTags))
	}
	return nil
}

// mergeTags sets the tags of add on have (keys compared case-insensitively; a
// new value replaces the old, keeping the old key's position).
func mergeTags(have, add []store.Tag) []store.Tag {
	out := append([]store.Tag(nil), have...)
	for _, t := range add {
		found := false
		for i := range out {
			if strings.EqualFold(out[i].Key, t.Key) {
				out[i] = t
				found = true
				break
			}
		}
		if !found {
			out = append(out, t)
		}
	}
	return out
}

// removeTags drops the tags with the given keys (case-insensitively).
func removeTags(have []store.Tag, keys []string) []store.Tag {
	var out []store.Tag
	for _, t := range have {
		drop := false
		for _, k := range keys {
			if strings.EqualFold(t.Key, k) {
				drop = true
				break
			}
		}
		if !drop {
			out = append(out, t)
		}
	}
	return out
}

// dedupe returns v without repeated values, in first-seen order.
func dedupe(v []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range v {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// remove returns v without x.
func remove(v []string, x string) []string {
	var out []string
	for _, y := range v {
		if y != x {
			out = append(out, y)
		}
	}
	return out
}

// contains reports whether v holds x.
func contains(v []string, x string) bool {
	for _, y := range v {
		if y == x {
			return true
		}
	}
	return false
}
