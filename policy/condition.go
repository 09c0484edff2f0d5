package policy

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// family is the type family of a condition operator.
type family uint8

const (
	famString family = iota
	famStringIgnoreCase
	famStringLike
	famNumeric
	famDate
	famBool
	famBinary
	famIP
	famArn
	famNull
)

// cmpOp is the comparison of a Numeric or Date operator: request value OP policy value.
type cmpOp uint8

const (
	cmpEq cmpOp = iota
	cmpLt
	cmpLe
	cmpGt
	cmpGe
)

type opInfo struct {
	fam     family
	cmp     cmpOp
	negated bool
}

// operators is the immutable table of base condition operators.
var operators = map[string]opInfo{
	"StringEquals":              {fam: famString},
	"StringNotEquals":           {fam: famString, negated: true},
	"StringEqualsIgnoreCase":    {fam: famStringIgnoreCase},
	"StringNotEqualsIgnoreCase": {fam: famStringIgnoreCase, negated: true},
	"StringLike":                {fam: famStringLike},
	"StringNotLike":             {fam: famStringLike, negated: true},
	"NumericEquals":             {fam: famNumeric},
	"NumericNotEquals":          {fam: famNumeric, negated: true},
	"NumericLessThan":           {fam: famNumeric, cmp: cmpLt},
	"NumericLessThanEquals":     {fam: famNumeric, cmp: cmpLe},
	"NumericGreaterThan":        {fam: famNumeric, cmp: cmpGt},
	"NumericGreaterThanEquals":  {fam: famNumeric, cmp: cmpGe},
	"DateEquals":                {fam: famDate},
	"DateNotEquals":             {fam: famDate, negated: true},
	"DateLessThan":              {fam: famDate, cmp: cmpLt},
	"DateLessThanEquals":        {fam: famDate, cmp: cmpLe},
	"DateGreaterThan":           {fam: famDate, cmp: cmpGt},
	"DateGreaterThanEquals":     {fam: famDate, cmp: cmpGe},
	"Bool":                      {fam: famBool},
	"BinaryEquals":              {fam: famBinary},
	"IpAddress":                 {fam: famIP},
	"NotIpAddress":              {fam: famIP, negated: true},
	"ArnEquals":                 {fam: famArn},
	"ArnLike":                   {fam: famArn},
	"ArnNotEquals":              {fam: famArn, negated: true},
	"ArnNotLike":                {fam: famArn, negated: true},
	"Null":                      {fam: famNull},
}

// SetOperator is a condition's set qualifier.
type SetOperator string

// Set qualifiers.
const (
	// NoSet is a plain (single-valued) operator.
	NoSet SetOperator = ""
	// ForAnyValue is true when at least one request value matches; false when the
	// key is missing.
	ForAnyValue SetOperator = "ForAnyValue"
	// ForAllValues is true when every request value matches, and true when the key
	// is missing or empty.
	ForAllValues SetOperator = "ForAllValues"
)

// Condition is one condition clause: an operator, a key and the policy's values.
type Condition struct {
	// Operator is the full operator as written, e.g. "ForAnyValue:StringLikeIfExists".
	Operator string
	// Key is the condition key as written, e.g. "aws:SourceIp".
	Key string
	// Values are the policy's values as written (numbers and booleans as text).
	Values []string

	base     string
	set      SetOperator
	ifExists bool
	info     opInfo
	lkey     string
	vals     []condValue
	vars     bool
}

// BaseOperator returns the operator without set qualifier and IfExists suffix.
func (c *Condition) BaseOperator() string { return c.base }

// Set returns the set qualifier (ForAnyValue, ForAllValues or NoSet).
func (c *Condition) Set() SetOperator { return c.set }

// IfExists reports whether the operator has the IfExists suffix.
func (c *Condition) IfExists() bool { return c.ifExists }

// Negated reports whether the operator is a negated one (StringNotEquals, NotIpAddress, …).
func (c *Condition) Negated() bool { return c.info.negated }

// KeyLower returns the condition key in lower case, as it is looked up.
func (c *Condition) KeyLower() string { return c.lkey }

// condValue is one precompiled policy value.
type condValue struct {
	pat    pattern // text, with variables; wildcards for StringLike
	arn    arnPattern
	static bool // the typed value below is valid (no variables)
	num    float64
	t      time.Time
	prefix netip.Prefix
	bin    string
	b      bool
}

// parseOperator splits "ForAnyValue:StringLikeIfExists" into its parts.
func parseOperator(op string) (base string, set SetOperator, ifExists bool, info opInfo, err error) {
	base = op
	if b, ok := strings.CutPrefix(base, "ForAnyValue:"); ok {
		base, set = b, ForAnyValue
	} else if b, ok := strings.CutPrefix(base, "ForAllValues:"); ok {
		base, set = b, ForAllValues
	}
	info, ok := operators[base]
	if !ok {
		if b, cut := strings.CutSuffix(base, "IfExists"); cut {
			if info, ok = operators[b]; ok {
				base, ifExists = b, true
			}
		}
	}
	if !ok {
		hint := ""
		for name := range operators {
			if strings.EqualFold(name, base) || strings.EqualFold(name+"IfExists", base) {
				hint = fmt.Sprintf(" (operators are case-sensitive: did you mean %q?)", name)
			}
		}
		return "", "", false, opInfo{}, errorf("Invalid Condition type : %s%s", op, hint)
	}
	if info.fam == famNull && (ifExists || set != NoSet) {
		return "", "", false, opInfo{}, errorf("Invalid Condition type : %s (Null takes no IfExists suffix and no set qualifier)", op)
	}
	return base, set, ifExists, info, nil
}

func parseConditions(raw []byte, off int, vars bool) ([]*Condition, string, error) {
	ops, err := objectMembers(raw, off)
	if err != nil {
		if errors.Is(err, errNotObject) {
			return nil, "", errorf("Condition must be an object mapping operators to {key: value(s)}")
		}
		return nil, "", err
	}
	var out []*Condition
	for _, op := range ops {
		base, set, ifExists, info, err := parseOperator(op.key)
		if err != nil {
			return nil, "." + op.key, err
		}
		keys, err := objectMembers(op.val, op.off)
		if err != nil {
			if errors.Is(err, errNotObject) {
				return nil, "." + op.key, fmt.Errorf("the value of %s must be an object mapping condition keys to values", op.key)
			}
			return nil, "." + op.key, err
		}
		if len(keys) == 0 {
			return nil, "." + op.key, fmt.Errorf("%s has no condition keys", op.key)
		}
		for _, k := range keys {
			field := "." + op.key + "." + k.key
			if k.key == "" || !strings.Contains(k.key, ":") {
				return nil, field, fmt.Errorf("Condition key %q must be prefaced by a vendor, e.g. \"aws:SourceIp\"", k.key)
			}
			values, err := scalarOrList(k.val)
			if err != nil {
				return nil, field, fmt.Errorf("condition value %v", err)
			}
			c := &Condition{Operator: op.key, Key: k.key, Values: values, base: base, set: set, ifExists: ifExists, info: info, lkey: strings.ToLower(k.key)}
			for _, v := range values {
				cv, err := compileValue(info.fam, v, vars)
				if err != nil {
					return nil, field, fmt.Errorf("%s value %q: %v", base, v, err)
				}
				if cv.pat.vars || cv.arn.whole.vars {
					c.vars = true
				}
				c.vals = append(c.vals, cv)
			}
			out = append(out, c)
		}
	}
	return out, "", nil
}

func compileValue(fam family, v string, vars bool) (condValue, error) {
	cv := condValue{}
	switch fam {
	case famStringLike:
		cv.pat = compilePattern(v, vars, true)
		return cv, nil
	case famArn:
		cv.arn = compileARN(v, vars)
		return cv, nil
	case famNull:
		b, err := parseBool(v)
		cv.b, cv.static = b, true
		return cv, err
	}
	cv.pat = compilePattern(v, vars, false)
	if cv.pat.vars || fam == famString || fam == famStringIgnoreCase {
		return cv, nil
	}
	text := cv.pat.lit
	var err error
	switch fam {
	case famNumeric:
		cv.num, err = parseNumber(text)
	case famDate:
		cv.t, err = parseDate(text)
	case famBool:
		cv.b, err = parseBool(text)
	case famBinary:
		var b []byte
		b, err = base64.StdEncoding.DecodeString(text)
		cv.bin = string(b)
		if err != nil {
			err = fmt.Errorf("not base64")
		}
	case famIP:
		cv.prefix, err = parsePrefix(text)
	}
	cv.static = err == nil
	return cv, err
}

func parseBool(s string) (bool, error) {
	switch {
	case strings.EqualFold(s, "true"):
		return true, nil
	case strings.EqualFold(s, "false"):
		return false, nil
	}
	return false, fmt.Errorf("want true or false")
}

func parseNumber(s string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("not a number")
	}
	return f, nil
}

// dateLayouts are the ISO 8601 forms accepted besides epoch seconds.
var dateLayouts = [...]string{
	time.RFC3339, // also accepts fractional seconds
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04",
	"2006-01-02",
	"20060102T150405Z0700",
	"20060102T150405Z",
	"20060102",
}

// parseDate parses an ISO 8601 date/time or an epoch time in seconds.
func parseDate(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("empty date")
	}
	digits := true
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && !(i == 0 && s[i] == '-') && s[i] != '.' {
			digits = false
			break
		}
	}
	if digits && len(s) == 8 {
		if t, err := time.Parse("20060102", s); err == nil {
			return t, nil
		}
	}
	if digits {
		f, err := strconv.ParseFloat(s, 64)
		if err == nil && !math.IsInf(f, 0) && math.Abs(f) < 1e12 {
			sec, frac := math.Modf(f)
			return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
		}
	}
	for _, l := range dateLayouts {
		if len(s) < len("20060102") {
			break
		}
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("not an ISO 8601 date or epoch seconds")
}

// parsePrefix parses a CIDR or a single address (as /32 or /128).
func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, fmt.Errorf("not a CIDR block")
		}
		return netip.PrefixFrom(p.Addr().Unmap(), bitsUnmapped(p)).Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("not an IP address or CIDR block")
	}
	a = a.Unmap().WithZone("")
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func bitsUnmapped(p netip.Prefix) int {
	if p.Addr().Is4In6() {
		if b := p.Bits() - 96; b >= 0 {
			return b
		}
		return 0
	}
	return p.Bits()
}

// eval decides the condition against ctx. missing names a policy variable that had
// no value (its policy value then matched nothing).
func (c *Condition) eval(ctx Context) (ok bool, missing string) {
	vals := ctx[c.lkey]
	if c.info.fam == famNull {
		absent := len(vals) == 0
		for _, v := range c.vals {
			if v.b == absent {
				return true, ""
			}
		}
		return false, ""
	}
	if len(vals) == 0 {
		switch {
		case c.ifExists, c.set == ForAllValues:
			return true, ""
		case c.set == ForAnyValue:
			return false, ""
		}
		return c.info.negated, ""
	}
	switch c.set {
	case ForAnyValue:
		for _, rv := range vals {
			m, miss := c.matchAny(rv, ctx)
			if miss != "" {
				missing = miss
			}
			if m != c.info.negated {
				return true, missing
			}
		}
		return false, missing
	case ForAllValues:
		for _, rv := range vals {
			m, miss := c.matchAny(rv, ctx)
			if miss != "" {
				missing = miss
			}
			if m == c.info.negated {
				return false, missing
			}
		}
		return true, missing
	}
	for _, rv := range vals {
		m, miss := c.matchAny(rv, ctx)
		if miss != "" {
			missing = miss
		}
		if m {
			return !c.info.negated, missing
		}
	}
	return c.info.negated, missing
}

// matchAny reports whether the request value rv matches any policy value under the
// positive form of the operator.
func (c *Condition) matchAny(rv string, ctx Context) (bool, string) {
	var req parsedValue
	switch c.info.fam {
	case famNumeric:
		f, err := parseNumber(rv)
		req.num, req.ok = f, err == nil
	case famDate:
		t, err := parseDate(rv)
		req.t, req.ok = t, err == nil
	case famIP:
		a, err := netip.ParseAddr(rv)
		req.addr, req.ok = a.Unmap().WithZone(""), err == nil
	}
	missing := ""
	for i := range c.vals {
		m, miss := c.matchOne(rv, &req, &c.vals[i], ctx)
		if m {
			return true, ""
		}
		if miss != "" {
			missing = miss
		}
	}
	return false, missing
}

// parsedValue is a request value parsed once for the Numeric, Date and IpAddress families.
type parsedValue struct {
	ok   bool
	num  float64
	t    time.Time
	addr netip.Addr
}

func (c *Condition) matchOne(rv string, req *parsedValue, v *condValue, ctx Context) (bool, string) {
	switch c.info.fam {
	case famStringLike:
		return v.pat.match(rv, false, ctx)
	case famArn:
		return v.arn.match(rv, ctx)
	}
	pv := v.pat.lit
	if v.pat.vars {
		var missing string
		if pv, missing = v.pat.text(ctx); missing != "" {
			return false, missing
		}
	}
	switch c.info.fam {
	case famString:
		return rv == pv, ""
	case famStringIgnoreCase, famBool:
		return strings.EqualFold(rv, pv), ""
	case famNumeric:
		want := v.num
		if !v.static {
			var err error
			if want, err = parseNumber(pv); err != nil {
				return false, ""
			}
		}
		return req.ok && compare(req.num, want, c.info.cmp), ""
	case famDate:
		want := v.t
		if !v.static {
			var err error
			if want, err = parseDate(pv); err != nil {
				return false, ""
			}
		}
		return req.ok && compare(float64(req.t.Sub(want)), 0, c.info.cmp), ""
	case famBinary:
		want := v.bin
		if !v.static {
			b, err := base64.StdEncoding.DecodeString(pv)
			if err != nil {
				return false, ""
			}
			want = string(b)
		}
		if rv == want {
			return true, ""
		}
		b, err := base64.StdEncoding.DecodeString(rv)
		return err == nil && string(b) == want, ""
	case famIP:
		want := v.prefix
		if !v.static {
			var err error
			if want, err = parsePrefix(pv); err != nil {
				return false, ""
			}
		}
		return req.ok && want.Contains(req.addr), ""
	}
	return false, ""
}

func compare(got, want float64, op cmpOp) bool {
	switch op {
	case cmpLt:
		return got < want
	case cmpLe:
		return got <= want
	case cmpGt:
		return got > want
	case cmpGe:
		return got >= want
	}
	return got == want
}
