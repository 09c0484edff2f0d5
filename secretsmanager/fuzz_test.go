package secretsmanager

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/keyless-dev/keyless/awsapi"
)

// FuzzDecodeRequest feeds arbitrary bodies to the JSON request decoder, for
// every operation's input: it must never panic, every failure must be a
// SerializationException, and what it decodes must encode and decode back to
// itself (nothing half-read).
func FuzzDecodeRequest(f *testing.F) {
	for _, seed := range []string{
		``, `{}`, ` {"SecretId":"db"} `,
		`{"Name":"prod/db","SecretString":"{\"p\":1}","ClientRequestToken":"aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa","Tags":[{"Key":"k","Value":"v"}]}`,
		`{"Name":"b","SecretBinary":"AAEC/w=="}`,
		`{"SecretId":"x","VersionStages":["AWSPENDING"],"RotationToken":null}`,
		`{"Filters":[{"Key":"name","Values":["!prod"]}],"MaxResults":5,"SortOrder":"desc","IncludePlannedDeletion":true}`,
		`{"SecretId":"x","RecoveryWindowInDays":7,"ForceDeleteWithoutRecovery":false}`,
		`{"SecretId":"x","MaxResults":1e3}`, `{"SecretId":5}`, `{"SecretBinary":"!!"}`, `{"Tags":{}}`,
		`[]`, `null`, `"x"`, `{"SecretId":"x"} {}`, `{"SecretId":"\ud800"}`, "{\"SecretId\":\"\xff\"}", `{"a":{"b":[1,2,{"c":null}]}}`,
	} {
		f.Add([]byte(seed))
	}
	inputs := []func() any{
		func() any { return new(createSecretInput) },
		func() any { return new(secretIDInput) },
		func() any { return new(getSecretValueInput) },
		func() any { return new(putSecretValueInput) },
		func() any { return new(updateSecretVersionStageInput) },
		func() any { return new(listSecretVersionIDsInput) },
		func() any { return new(listSecretsInput) },
		func() any { return new(deleteSecretInput) },
		func() any { return new(tagResourceInput) },
		func() any { return new(untagResourceInput) },
		func() any { return new(updateSecretInput) },
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

// FuzzParseSecretID: any SecretId parses without panicking, an ARN of this
// region and account yields at most two candidate names (with and without
// what looks like the random suffix), and a plain name is itself.
func FuzzParseSecretID(f *testing.F) {
	for _, seed := range []string{"db", "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-AbC123",
		"arn:aws:secretsmanager:us-east-1:000000000000:secret:", "arn:", "arn:aws:secretsmanager:us-east-1:000000000000:secret:-ABCDEF", "\xff", ""} {
		f.Add(seed)
	}
	c := &core{region: testRegion, account: testAccount}
	f.Fuzz(func(t *testing.T, id string) {
		sid := c.parseSecretID(id)
		if len(sid.names) > 2 {
			t.Fatalf("parseSecretID(%q) gives %d names", id, len(sid.names))
		}
		if !sid.arn && (len(sid.names) != 1 || sid.names[0] != id) {
			t.Fatalf("parseSecretID(%q) of a name = %q", id, sid.names)
		}
		for _, n := range sid.names {
			if n == "" && id != "" || !bytes.Contains([]byte(id), []byte(n)) {
				t.Fatalf("parseSecretID(%q) gives name %q", id, n)
			}
		}
	})
}
