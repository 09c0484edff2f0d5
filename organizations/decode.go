package organizations

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/keyless-dev/keyless/awsapi"
)

// The patterns and limits of the 2016-11-28 model's request members.
var (
	patAccountID = regexp.MustCompile(`^\d{12}$`)
	patRootID    = regexp.MustCompile(`^r-[0-9a-z]{4,32}$`)
	patOUID      = regexp.MustCompile(`^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$`)
	patRequestID = regexp.MustCompile(`^car-[a-z0-9]{8,32}$`)
	patEmail     = regexp.MustCompile(`^[^\s@]+@[^\s@]+\.[^\s@]+$`)
	patRoleName  = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	patASCII     = regexp.MustCompile(`^[\x{0020}-\x{007E}]+$`)
)

const (
	maxAccountName = 50
	minEmail       = 6
	maxEmail       = 64
	maxOUName      = 128
	maxParentID    = 100
	maxPageSize    = 20
	maxNextToken   = 100000
)

// requestDecoder decodes the JSON 1.1 request bodies (awsapi.JSONRequestDecoder).
var requestDecoder = awsapi.JSONRequestDecoder{Example: `{"AccountId":"111122223333"}`}

// decodeRequest decodes the JSON 1.1 body of a request into v, a pointer to
// one of the *Input structs; see awsapi.JSONRequestDecoder.Decode.
func decodeRequest(body []byte, v any) error { return requestDecoder.Decode(body, v) }

// validator checks request members in order and keeps the first violation,
// as the InvalidInputException AWS Organizations sends (one reason per
// error). Values are never repeated in messages.
type validator struct {
	err *awsapi.Error
}

func (v *validator) fail(reason, message string) {
	if v.err == nil {
		v.err = errInvalidInput(reason, message)
	}
}

// required checks that a required member is present.
func (v *validator) required(member string, present bool) {
	if !present {
		v.fail("INPUT_REQUIRED", "You must include a value for all required parameters: "+member+" is missing.")
	}
}

// length checks the length in characters of an optional string member.
func (v *validator) length(member string, s *string, min, max int) {
	if s == nil {
		return
	}
	switch n := utf8.RuneCountInString(*s); {
	case n < min:
		v.fail("MIN_LENGTH_EXCEEDED", fmt.Sprintf("You provided a string parameter that is shorter than allowed: %s must have at least %d characters.", member, min))
	case n > max:
		v.fail("MAX_LENGTH_EXCEEDED", fmt.Sprintf("You provided a string parameter that is longer than allowed: %s must have at most %d characters.", member, max))
	}
}

// pattern checks an optional string member against a pattern; what
// describes the values it allows.
func (v *validator) pattern(member string, s *string, pat *regexp.Regexp, what string) {
	if s != nil && !pat.MatchString(*s) {
		v.fail("INVALID_PATTERN", "You provided a value that doesn't match the required pattern: "+member+" must be "+what+".")
	}
}

// oneOf checks that an optional member is one of values.
func (v *validator) oneOf(member string, s *string, values ...string) {
	if s == nil {
		return
	}
	for _, x := range values {
		if *s == x {
			return
		}
	}
	v.fail("INVALID_ENUM", "You specified an invalid value: "+member+" must be one of "+strings.Join(values, ", ")+".")
}

// page checks the paging members of a List request.
func (v *validator) page(maxResults *int64, nextToken *string) {
	if n := maxResults; n != nil {
		switch {
		case *n < 1:
			v.fail("MIN_VALUE_EXCEEDED", "You provided a numeric parameter that has a smaller value than allowed: MaxResults must be at least 1.")
		case *n > maxPageSize:
			v.fail("MAX_VALUE_EXCEEDED", fmt.Sprintf("You provided a numeric parameter that has a larger value than allowed: MaxResults must be at most %d.", maxPageSize))
		}
	}
	v.length("NextToken", nextToken, 0, maxNextToken)
}

// tags checks the Tags of a request: keyless keeps no tags of Organizations
// resources, so a request with tags is refused rather than half done.
func (v *validator) tags(tags []tagJSON) {
	if len(tags) > 0 {
		v.fail("TARGET_NOT_SUPPORTED", "keyless does not keep tags of Organizations resources: leave out Tags.")
	}
}

// parentID checks a required root or OU ID member.
func (v *validator) parentID(member string, s *string) {
	v.required(member, s != nil)
	v.length(member, s, 1, maxParentID)
	if s != nil && !patRootID.MatchString(*s) && !patOUID.MatchString(*s) {
		v.fail("INVALID_PATTERN", "You provided a value that doesn't match the required pattern: "+member+
			" must be a root ID (r- and 4 to 32 lowercase letters or digits) or an OU ID (ou-, 4 to 32 lowercase letters or digits, -, 8 to 32 more).")
	}
}

// accountID checks a required account ID member.
func (v *validator) accountID(member string, s *string) {
	v.required(member, s != nil)
	v.pattern(member, s, patAccountID, "an account ID of exactly 12 digits")
}

// check is the InvalidInputException of the first violation, or nil.
func (v *validator) check() error {
	if v.err == nil {
		return nil
	}
	return v.err
}
