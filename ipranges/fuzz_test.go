package ipranges

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"testing"
)

// FuzzParse: Parse never panics; what it accepts has valid, masked prefixes, and
// Select's result is sorted, free of duplicates, and written as a condition that
// decodes back to the same CIDRs.
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile(Fixture); err == nil {
		f.Add(b)
	}
	for _, s := range []string{
		`{"items": []}`,
		`{"syncToken": 1, "items": [{"cidr": "10.0.0.0/8", "product": ["bitbucket"], "direction": ["egress"], "region": ["x"]}]}`,
		`{"items": [{"network": "2001:db8::", "mask_len": 32, "product": ["bitbucket"], "direction": ["egress"]}]}`,
		`{"items": [{"cidr": "::ffff:10.0.0.0/104"}]}`, `[]`, `<html>`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		feed, err := Parse(data)
		if err != nil {
			return
		}
		for _, it := range feed.Items {
			if !it.Prefix.IsValid() || it.Prefix != it.Prefix.Masked() || it.Prefix.Addr().Is4In6() {
				t.Fatalf("item prefix %v", it.Prefix)
			}
		}
		got := feed.Select(ProductBitbucket, DirectionEgress, nil)
		for i := 1; i < len(got); i++ {
			if comparePrefix(got[i-1].Prefix, got[i].Prefix) >= 0 {
				t.Fatalf("not sorted or duplicated: %v", got)
			}
		}
		sel := Selection{Product: ProductBitbucket, Direction: DirectionEgress, Ranges: got}
		var buf bytes.Buffer
		if err := Write(&buf, FormatCondition, feed, sel); err != nil {
			t.Fatal(err)
		}
		var cond map[string]map[string][]string
		if err := json.Unmarshal(buf.Bytes(), &cond); err != nil || !slices.Equal(cond["IpAddress"]["aws:SourceIp"], sel.CIDRs()) {
			t.Fatalf("condition %s: %v", buf.Bytes(), err)
		}
		buf.Reset()
		if err := Write(&buf, FormatJSON, feed, sel); err != nil || !json.Valid(buf.Bytes()) {
			t.Fatalf("json %s: %v", buf.Bytes(), err)
		}
	})
}
