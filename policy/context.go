package policy

import "strings"

// Context holds a request's condition keys and their values. Keys are stored in
// lower case because condition key names are case-insensitive; values keep their
// case. Build it with [NewContext], [Context.Set] and [Context.Add] (or
// [ContextFrom]); a key present with no values counts as an empty multivalued key.
type Context map[string][]string

// NewContext returns an empty context.
func NewContext() Context { return Context{} }

// ContextFrom builds a context from a map whose keys may have any case.
func ContextFrom(m map[string][]string) Context {
	c := make(Context, len(m))
	for k, v := range m {
		c.Add(k, v...)
	}
	return c
}

// Set replaces the values of key and returns c for chaining.
func (c Context) Set(key string, values ...string) Context {
	if values == nil {
		values = []string{}
	}
	c[lowerKey(key)] = values
	return c
}

// Add appends values to key and returns c for chaining.
func (c Context) Add(key string, values ...string) Context {
	k := lowerKey(key)
	v := c[k]
	if v == nil {
		v = []string{}
	}
	c[k] = append(v, values...)
	return c
}

// Get returns the values of key (any case) and whether the key is present.
func (c Context) Get(key string) ([]string, bool) {
	v, ok := c[lowerKey(key)]
	return v, ok
}

// Delete removes key (any case).
func (c Context) Delete(key string) { delete(c, lowerKey(key)) }

// lowerKey lower-cases ASCII letters without allocating when there are none,
// nor for the global and STS keys every request context holds.
func lowerKey(k string) string {
	if l, ok := knownKeys[k]; ok {
		return l
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; c >= 'A' && c <= 'Z' || c >= 0x80 {
			return strings.ToLower(k)
		}
	}
	return k
}

// knownKeys maps the usual spelling of the condition keys that authz and STS
// set on every request to its lower case, so that building a context does not
// allocate a lower-cased copy of each. It is never written after init.
var knownKeys = func() map[string]string {
	keys := []string{
		"aws:CurrentTime", "aws:EpochTime", "aws:SecureTransport", "aws:SourceIp",
		"aws:PrincipalAccount", "aws:PrincipalArn", "aws:PrincipalType", "aws:FederatedProvider",
		"aws:SourceIdentity", "aws:TagKeys", "aws:TokenIssueTime", "aws:MultiFactorAuthPresent",
		"aws:RequestedRegion", "aws:CalledVia", "aws:SourceArn", "aws:SourceAccount", "aws:ViaAWSService",
		"sts:RoleSessionName", "sts:SourceIdentity", "sts:TransitiveTagKeys", "sts:ExternalId",
	}
	m := make(map[string]string, len(keys))
	for _, k := range keys {
		m[k] = strings.ToLower(k)
	}
	return m
}()
