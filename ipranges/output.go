package ipranges

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Format is an output form of a selection.
type Format string

// Output formats.
const (
	// FormatCIDR is one CIDR per line.
	FormatCIDR Format = "cidr"
	// FormatCondition is the aws:SourceIp condition of an IAM policy:
	// {"IpAddress": {"aws:SourceIp": [...]}}.
	FormatCondition Format = "condition"
	// FormatJSON is the selection with the feed's date and each range's regions.
	FormatJSON Format = "json"
)

// ParseFormat returns the format named s.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case FormatCIDR, FormatCondition, FormatJSON:
		return f, nil
	}
	return "", fmt.Errorf("invalid format %q: use cidr, condition or json", s)
}

// Selection is what was selected from a feed, and how.
type Selection struct {
	// Product, Direction and Regions are Select's arguments.
	Product, Direction string
	Regions            []string
	// Ranges are Select's result.
	Ranges []Range
}

// CIDRs returns the ranges as CIDR strings, in order.
func (s Selection) CIDRs() []string {
	out := make([]string, 0, len(s.Ranges))
	for _, r := range s.Ranges {
		out = append(out, r.Prefix.String())
	}
	return out
}

// Write writes sel from feed to w in format.
func Write(w io.Writer, format Format, feed *Feed, sel Selection) error {
	var out []byte
	switch format {
	case FormatCIDR:
		var b strings.Builder
		for _, c := range sel.CIDRs() {
			b.WriteString(c + "\n")
		}
		out = []byte(b.String())
	case FormatCondition:
		cond := map[string]map[string][]string{"IpAddress": {"aws:SourceIp": sel.CIDRs()}}
		b, err := json.MarshalIndent(cond, "", "  ")
		if err != nil {
			return fmt.Errorf("encode condition: %w", err)
		}
		out = append(b, '\n')
	case FormatJSON:
		type jsonRange struct {
			CIDR    string   `json:"cidr"`
			Regions []string `json:"regions"`
		}
		doc := struct {
			CreationDate string      `json:"creationDate"`
			SyncToken    string      `json:"syncToken"`
			Product      string      `json:"product"`
			Direction    string      `json:"direction"`
			Regions      []string    `json:"regions"`
			Ranges       []jsonRange `json:"ranges"`
		}{feed.CreationDate, feed.SyncToken, sel.Product, sel.Direction, sel.Regions, []jsonRange{}}
		if doc.Regions == nil {
			doc.Regions = []string{}
		}
		for _, r := range sel.Ranges {
			regions := r.Regions
			if regions == nil {
				regions = []string{}
			}
			doc.Ranges = append(doc.Ranges, jsonRange{r.Prefix.String(), regions})
		}
		b, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			return fmt.Errorf("encode selection: %w", err)
		}
		out = append(b, '\n')
	default:
		return fmt.Errorf("invalid format %q: use cidr, condition or json", format)
	}
	_, err := w.Write(out)
	return err
}
