package render

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/keyless-dev/keyless/provision"
)

// Ref names a value known only where the rendered code is deployed.
type Ref int

// The deploy-time values a string may depend on.
const (
	// Literal is no reference: the part is text.
	Literal Ref = iota
	// Account is the id of the account deployed to (AWS::AccountId).
	Account
	// Partition is the partition deployed to (AWS::Partition).
	Partition
)

// Part is a piece of a string: literal text, or a reference.
type Part struct {
	// Ref is what the part stands for; Literal for text.
	Ref Ref
	// Text is the literal text, when Ref is Literal.
	Text string
}

// Split cuts s around what depends on the account and partition deployed to:
// every [provision.AccountPlaceholder] becomes an Account part, and the
// partition of every ARN of the given partition ("arn:aws:…") a Partition part.
// An account id the config names stays literal. Adjacent text is one part, and
// a string that depends on nothing is one Literal part (none when s is empty).
func Split(s, partition string) []Part {
	var parts []Part
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			parts = append(parts, Part{Text: lit.String()})
			lit.Reset()
		}
	}
	arnPrefix := "arn:" + partition + ":"
	for i := 0; i < len(s); {
		switch {
		case partition != "" && strings.HasPrefix(s[i:], arnPrefix):
			lit.WriteString("arn:")
			flush()
			parts = append(parts, Part{Ref: Partition})
			lit.WriteString(":")
			i += len(arnPrefix)
		case strings.HasPrefix(s[i:], provision.AccountPlaceholder):
			flush()
			parts = append(parts, Part{Ref: Account})
			i += len(provision.AccountPlaceholder)
		default:
			lit.WriteByte(s[i])
			i++
		}
	}
	flush()
	return parts
}

// IsLiteral reports whether parts hold no reference.
func IsLiteral(parts []Part) bool {
	for _, p := range parts {
		if p.Ref != Literal {
			return false
		}
	}
	return true
}

// Words splits a name into its runs of ASCII letters and digits, the words
// identifiers are made of: "deploy-web_prod.1" gives deploy, web, prod, 1.
func Words(name string) []string {
	return strings.FieldsFunc(name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	})
}

// Pascal joins the words of name with their first letters upper-cased:
// "deploy-web-prod" gives "DeployWebProd".
func Pascal(name string) string {
	var b strings.Builder
	for _, w := range Words(name) {
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return b.String()
}

// Snake joins the lower-cased words of name with underscores: "deploy-web-Prod"
// gives "deploy_web_prod".
func Snake(name string) string {
	return strings.ToLower(strings.Join(Words(name), "_"))
}

// Identifiers derives an identifier from each of names with ident, and makes
// them unique: the names whose identifiers collide (such as "deploy-web" and
// "deploy_web") get the first eight hexadecimal digits of their name's SHA-256
// appended, joined by sep, so that an identifier depends only on its own name
// and on which names collide. names must be distinct. The result is in the
// order of names; an error reports identifiers that still collide.
func Identifiers(names []string, ident func(string) string, sep string) ([]string, error) {
	ids := make([]string, len(names))
	count := map[string]int{}
	for i, n := range names {
		ids[i] = ident(n)
		count[ids[i]]++
	}
	for i, n := range names {
		if count[ids[i]] > 1 || ids[i] == "" {
			sum := sha256.Sum256([]byte(n))
			ids[i] += sep + hex.EncodeToString(sum[:4])
		}
	}
	seen := map[string]string{}
	for i, n := range names {
		if other, dup := seen[ids[i]]; dup {
			return nil, fmt.Errorf("render: %q and %q both give the identifier %s", other, n, ids[i])
		}
		seen[ids[i]] = n
	}
	return ids, nil
}
