package ipranges

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// Fixture is the reconstructed feed of testdata/README.md.
const Fixture = "testdata/atlassian-ip-ranges-2024-06-01.json"

// seedFifteen are the aws:SourceIp addresses of seed 003's CloudFormation template.
var seedFifteen = []string{
	"34.199.54.113/32", "34.232.25.90/32", "34.232.119.183/32", "34.236.25.177/32",
	"35.171.175.212/32", "52.54.90.98/32", "52.202.195.162/32", "52.203.14.55/32",
	"52.204.96.37/32", "34.218.156.209/32", "34.218.168.212/32", "52.41.219.63/32",
	"35.155.178.254/32", "35.160.177.10/32", "34.216.18.129/32",
}

func readFixture(t testing.TB) *Feed {
	t.Helper()
	b, err := os.ReadFile(Fixture)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestParseFixture(t *testing.T) {
	f := readFixture(t)
	if f.CreationDate != "2024-06-01T00:00:00.000000" || f.SyncToken != "1717200000" || len(f.Items) != 33 {
		t.Fatalf("creationDate %q syncToken %q items %d", f.CreationDate, f.SyncToken, len(f.Items))
	}
	first := f.Items[0]
	if first.Prefix != netip.MustParsePrefix("2001:db8:1000::/40") || !slices.Equal(first.Regions, []string{"us-east-1"}) ||
		!slices.Equal(first.Products, []string{"bitbucket"}) || !slices.Equal(first.Directions, []string{"egress"}) {
		t.Errorf("first item %+v", first)
	}
}

func TestSelect(t *testing.T) {
	f := readFixture(t)
	tests := []struct {
		name               string
		product, direction string
		regions            []string
		want               []string
	}{
		{"bitbucket egress: the seed's fifteen, the other twelve, one IPv6 range", ProductBitbucket, DirectionEgress, nil, nil},
		{"us-west-2: the seed's six Oregon addresses", ProductBitbucket, DirectionEgress, []string{"us-west-2"},
			[]string{"34.216.18.129/32", "34.218.156.209/32", "34.218.168.212/32", "35.155.178.254/32", "35.160.177.10/32", "52.41.219.63/32"}},
		{"two regions, case-insensitive", "BitBucket", "EGRESS", []string{"US-WEST-2", "nowhere"},
			[]string{"34.216.18.129/32", "34.218.156.209/32", "34.218.168.212/32", "35.155.178.254/32", "35.160.177.10/32", "52.41.219.63/32"}},
		{"bitbucket ingress", ProductBitbucket, DirectionIngress, nil, []string{"198.51.100.0/24", "2001:db8:2000::/40"}},
		{"jira egress", "jira", DirectionEgress, nil, []string{"192.0.2.0/24", "203.0.113.0/25"}},
		{"unknown region", ProductBitbucket, DirectionEgress, []string{"eu-west-1"}, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := f.Select(tc.product, tc.direction, tc.regions)
			cidrs := Selection{Ranges: got}.CIDRs()
			if tc.want == nil {
				// The full Bitbucket egress list: 27 IPv4 /32s, then the IPv6 range.
				if len(cidrs) != 28 || cidrs[27] != "2001:db8:1000::/40" {
					t.Fatalf("got %d: %v", len(cidrs), cidrs)
				}
				for _, s := range seedFifteen {
					if !slices.Contains(cidrs, s) {
						t.Errorf("%s missing", s)
					}
				}
				for i := 1; i < len(got); i++ {
					if comparePrefix(got[i-1].Prefix, got[i].Prefix) >= 0 {
						t.Errorf("not sorted or duplicated at %d: %s, %s", i, got[i-1].Prefix, got[i].Prefix)
					}
				}
				if got[0].Prefix.String() != "3.216.235.48/32" {
					t.Errorf("first %s: want numeric order, 3.216.235.48 first", got[0].Prefix)
				}
				return
			}
			if !slices.Equal(cidrs, tc.want) {
				t.Errorf("got %v, want %v", cidrs, tc.want)
			}
		})
	}
}

func TestSelectMergesDuplicates(t *testing.T) {
	f, err := Parse([]byte(`{"items": [
		{"cidr": "10.0.0.0/8", "region": ["us-east-1"], "product": ["bitbucket"], "direction": ["egress"]},
		{"cidr": "10.1.2.3/8", "region": ["eu-west-1", "us-east-1"], "product": ["bitbucket"], "direction": ["egress"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	got := f.Select(ProductBitbucket, DirectionEgress, nil)
	if len(got) != 1 || got[0].Prefix.String() != "10.0.0.0/8" || !slices.Equal(got[0].Regions, []string{"eu-west-1", "us-east-1"}) {
		t.Errorf("got %+v", got)
	}
	if r := f.Regions(ProductBitbucket, DirectionEgress); !slices.Equal(r, []string{"eu-west-1", "us-east-1"}) {
		t.Errorf("Regions = %v", r)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, in string
		err      string // "" for success
		prefixes []string
	}{
		{"unknown fields are ignored", `{"creationDate": "x", "syncToken": "42", "new": {"a": 1}, "items": [{"cidr": "192.0.2.0/24", "ip_version": 4}]}`, "", []string{"192.0.2.0/24"}},
		{"network and mask_len without cidr", `{"items": [{"network": "2001:db8::", "mask_len": 32}]}`, "", []string{"2001:db8::/32"}},
		{"host bits are cleared", `{"items": [{"cidr": "192.0.2.7/24"}]}`, "", []string{"192.0.2.0/24"}},
		{"IPv4-mapped IPv6 becomes IPv4", `{"items": [{"cidr": "::ffff:192.0.2.0/120"}]}`, "", []string{"192.0.2.0/24"}},
		{"empty items", `{"items": []}`, "", []string{}},
		{"null syncToken", `{"syncToken": null, "items": []}`, "", []string{}},
		{"empty", "  ", "it is empty", nil},
		{"HTML", "<!DOCTYPE html><html>", `not a JSON object (it starts with "<!DOCTYPE html><html…")`, nil},
		{"array", `[{"cidr": "192.0.2.0/24"}]`, "not a JSON object", nil},
		{"no items", `{"creationDate": "x"}`, `no "items" array`, nil},
		{"items not an array", `{"items": "x"}`, "parse IP ranges feed: json: cannot unmarshal string", nil},
		{"trailing data", `{"items": []} {}`, "data after the JSON object", nil},
		{"truncated", `{"items": [{"cidr": "192.0.2.0/24"}`, "unexpected EOF", nil},
		{"bad cidr", `{"items": [{"cidr": "192.0.2.0/24"}, {"cidr": "192.0.2.0/33"}]}`, `item 1: cidr "192.0.2.0/33" is not a CIDR`, nil},
		{"no cidr", `{"items": [{"region": ["us-east-1"]}]}`, `item 0: it has no "cidr"`, nil},
		{"network contradicts cidr", `{"items": [{"cidr": "192.0.2.0/24", "network": "198.51.100.0"}]}`, "item 0: network 198.51.100.0 contradicts cidr", nil},
		{"mask_len contradicts cidr", `{"items": [{"cidr": "192.0.2.0/24", "mask_len": 25}]}`, "item 0: mask_len 25 contradicts cidr", nil},
		{"bad network", `{"items": [{"network": "x", "mask_len": 8}]}`, `item 0: network "x" is not an IP address`, nil},
		{"mask_len too long", `{"items": [{"network": "192.0.2.0", "mask_len": 40}]}`, "item 0: mask_len 40 does not fit", nil},
		{"negative mask_len", `{"items": [{"network": "192.0.2.0", "mask_len": -1}]}`, "item 0: mask_len -1 does not fit", nil},
		{"zone in cidr", `{"items": [{"cidr": "fe80::%eth0/64"}]}`, "is not a CIDR", nil},
		{"zone in network", `{"items": [{"network": "fe80::%eth0", "mask_len": 64}]}`, "is not an IP address", nil},
		{"region not a list", `{"items": [{"cidr": "192.0.2.0/24", "region": "us-east-1"}]}`, "cannot unmarshal string", nil},
		{"syncToken object", `{"syncToken": {}, "items": []}`, "syncToken {} is neither a number nor a string", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse([]byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, it := range f.Items {
				got = append(got, it.Prefix.String())
			}
			if !slices.Equal(got, tc.prefixes) {
				t.Errorf("prefixes %v, want %v", got, tc.prefixes)
			}
		})
	}
}

func TestRead(t *testing.T) {
	big := strings.NewReader(`{"items": [` + strings.Repeat(" ", MaxFeedBytes) + `]}`)
	if _, err := Read(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("Read of an oversized feed: %v", err)
	}
}

func TestFetch(t *testing.T) {
	fixture, err := os.ReadFile(Fixture)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, _ *http.Request) { w.Write(fixture) })
	mux.HandleFunc("/garbage", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("<html>")) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	client := &http.Client{Timeout: 5 * time.Second}
	f, err := Fetch(context.Background(), client, srv.URL+"/")
	if err != nil || len(f.Items) != 33 {
		t.Fatalf("Fetch: %v", err)
	}
	for path, want := range map[string]string{"/missing": "answered 404 Not Found", "/garbage": "/garbage: parse IP ranges feed: it is not a JSON object"} {
		if _, err := Fetch(context.Background(), client, srv.URL+path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Fetch %s: %v, want %q", path, err, want)
		}
	}
}

// TestGolden writes the fixture's Bitbucket egress ranges in every format and
// compares them with the golden files.
func TestGolden(t *testing.T) {
	f := readFixture(t)
	tests := []struct {
		golden  string
		format  Format
		regions []string
	}{
		{"bitbucket-egress.cidr", FormatCIDR, nil},
		{"bitbucket-egress.condition", FormatCondition, nil},
		{"bitbucket-egress.json", FormatJSON, nil},
		{"bitbucket-egress-us-west-2.cidr", FormatCIDR, []string{"us-west-2"}},
	}
	for _, tc := range tests {
		t.Run(tc.golden, func(t *testing.T) {
			sel := Selection{Product: ProductBitbucket, Direction: DirectionEgress, Regions: tc.regions, Ranges: f.Select(ProductBitbucket, DirectionEgress, tc.regions)}
			var buf bytes.Buffer
			if err := Write(&buf, tc.format, f, sel); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tc.golden+".golden")
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test -update creates it)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("differs from %s:\n%s", path, buf.Bytes())
			}
			if tc.format == FormatCondition {
				var cond struct {
					IpAddress struct {
						SourceIP []string `json:"aws:SourceIp"`
					}
				}
				if err := json.Unmarshal(buf.Bytes(), &cond); err != nil || !slices.Equal(cond.IpAddress.SourceIP, sel.CIDRs()) {
					t.Errorf("condition does not decode to the selection (%v):\n%s", err, buf.Bytes())
				}
			}
		})
	}
}

func TestParseFormat(t *testing.T) {
	for _, s := range []string{"cidr", "condition", "json"} {
		if f, err := ParseFormat(s); err != nil || string(f) != s {
			t.Errorf("ParseFormat(%q) = %q, %v", s, f, err)
		}
	}
	if _, err := ParseFormat("yaml"); err == nil || !strings.Contains(err.Error(), "use cidr, condition or json") {
		t.Errorf("ParseFormat(yaml): %v", err)
	}
}
