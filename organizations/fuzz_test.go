package organizations

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/awsapi"
)

// FuzzDecodeRequest feeds arbitrary bodies to the JSON request decoder, for
// every operation's input: it must never panic, every failure must be a
// SerializationException, and what it decodes must encode and decode back to
// itself (nothing half-read).
func FuzzDecodeRequest(f *testing.F) {
	for _, seed := range []string{
		``, `{}`, ` {"AccountId":"111122223333"} `,
		`{"AccountName":"app","Email":"app@example.com","RoleName":"OrganizationAccountAccessRole","IamUserAccessToBilling":"DENY","Tags":[{"Key":"k","Value":"v"}]}`,
		`{"ParentId":"r-ab12","Name":"prod"}`, `{"ParentId":"ou-ab12-11111111","MaxResults":20,"NextToken":"MTIz"}`,
		`{"ChildId":"111122223333","MaxResults":1e3}`, `{"AccountId":"1","SourceParentId":"r-ab12","DestinationParentId":"ou-ab12-11111111"}`,
		`{"CreateAccountRequestId":"car-0123456789abcdef"}`, `{"FeatureSet":"ALL"}`, `{"MaxResults":-1}`, `{"MaxResults":9223372036854775808}`,
		`[]`, `null`, `"x"`, `{"AccountId":"x"} {}`, `{"AccountId":"\ud800"}`, "{\"AccountId\":\"\xff\"}", `{"a":{"b":[1,2,{"c":null}]}}`, `{"Tags":{}}`,
	} {
		f.Add([]byte(seed))
	}
	inputs := []func() any{
		func() any { return new(pageInput) },
		func() any { return new(createOrganizationInput) },
		func() any { return new(createOrganizationalUnitInput) },
		func() any { return new(describeOrganizationalUnitInput) },
		func() any { return new(listForParentInput) },
		func() any { return new(listParentsInput) },
		func() any { return new(createAccountInput) },
		func() any { return new(describeCreateAccountStatusInput) },
		func() any { return new(describeAccountInput) },
		func() any { return new(moveAccountInput) },
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, newInput := range inputs {
			in := newInput()
			err := decodeRequest(body, in)
			if err != nil {
				if e, ok := err.(*awsapi.Error); !ok || e.Code != "SerializationException" || e.Status != 400 || e.Message == "" {
					t.Fatalf("decodeRequest(%q) into %T: error %#v, want a SerializationException", body, in, err)
				}
				continue
			}
			once, err := json.Marshal(in)
			if err != nil {
				t.Fatalf("%T decoded from %q does not encode: %v", in, body, err)
			}
			again := newInput()
			if err := decodeRequest(once, again); err != nil {
				t.Fatalf("%T re-encoded as %s does not decode: %v", in, once, err)
			}
			twice, _ := json.Marshal(again)
			if !bytes.Equal(once, twice) {
				t.Fatalf("%T from %q: decoded %s, then %s", in, body, once, twice)
			}
		}
	})
}

// FuzzServeJSON sends arbitrary bodies to every operation of a service with
// an organization, OU and member accounts: nothing panics, every refusal is
// a client error (400) with a code and a message, never an internal failure.
func FuzzServeJSON(f *testing.F) {
	for _, seed := range []string{`{}`, `{"AccountId":"000000000000"}`, `{"ParentId":"r-aaaa","Name":"x"}`,
		`{"ChildId":"ou-aaaa-aaaaaaaa"}`, `{"MaxResults":1,"NextToken":"MDAw"}`, `{"NextToken":""}`,
		`{"AccountName":"n","Email":"n@example.com"}`, `{"AccountId":"000000000000","SourceParentId":"r-aaaa","DestinationParentId":"r-aaaa"}`,
		`{"Target":{"Id":"222222222222","Type":"ACCOUNT"},"Notes":"n"}`, `{"Target":{"Id":"a@example.com","Type":"EMAIL"}}`,
		`{"HandshakeId":"h-aaaaaaaa"}`, `{"Filter":{"ActionType":"INVITE"},"MaxResults":1}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fx := newFixture(t, nil)
		fx.setup()
		for _, op := range operationNames() {
			r := fx.call(op, string(body))
			if r.err != nil && (r.err.Status != 400 || r.err.Code == "" || r.err.Message == "" || strings.Contains(r.err.Code, "Internal")) {
				t.Fatalf("%s %q: %+v", op, body, r.err)
			}
		}
	})
}
