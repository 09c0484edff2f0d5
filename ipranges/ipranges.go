// Package ipranges reads Atlassian's published IP-range feed
// (https://ip-ranges.atlassian.com/) and selects ranges from it, such as the
// addresses Bitbucket Pipelines steps leave from, for an aws:SourceIp condition.
//
// The feed is one JSON object:
//
//	{"creationDate": "…", "syncToken": …, "items": [
//	  {"network": "…", "mask_len": 32, "cidr": "…/32", "mask": "…",
//	   "region": ["us-east-1"], "product": ["bitbucket"], "direction": ["egress"],
//	   "perimeter": "…"}, …]}
//
// Parse is strict where a mistake would change the addresses (a cidr that is not
// one, or that contradicts network or mask_len) and lenient elsewhere: fields it
// does not know are ignored, and syncToken may be a number or a string.
package ipranges

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"unicode/utf8"
)

// DefaultURL is where Atlassian publishes the feed.
const DefaultURL = "https://ip-ranges.atlassian.com/"

// MaxFeedBytes bounds the feed Read and Fetch accept.
const MaxFeedBytes = 16 << 20

// Values of Item.Products and Item.Directions that Select is used with.
const (
	ProductBitbucket = "bitbucket"
	DirectionEgress  = "egress"
	DirectionIngress = "ingress"
)

// Feed is a parsed IP-range feed.
type Feed struct {
	// CreationDate is the feed's creationDate, as published.
	CreationDate string
	// SyncToken is the feed's syncToken, as text.
	SyncToken string
	// Items are the feed's ranges, in feed order.
	Items []Item
}

// Item is one range of the feed.
type Item struct {
	// Prefix is the range, with any host bits cleared.
	Prefix netip.Prefix
	// Regions, Products and Directions are the item's region, product and
	// direction lists, as published.
	Regions, Products, Directions []string
	// Perimeter is the item's perimeter, as published.
	Perimeter string
}

// rawFeed and rawItem are the wire form.
type rawFeed struct {
	CreationDate string          `json:"creationDate"`
	SyncToken    json.RawMessage `json:"syncToken"`
	Items        *[]rawItem      `json:"items"`
}

type rawItem struct {
	Network   string   `json:"network"`
	MaskLen   *int     `json:"mask_len"`
	CIDR      string   `json:"cidr"`
	Mask      string   `json:"mask"`
	Region    []string `json:"region"`
	Product   []string `json:"product"`
	Direction []string `json:"direction"`
	Perimeter string   `json:"perimeter"`
}

// Parse parses a feed. It rejects what is not a feed, naming the item and the
// field at fault.
func Parse(data []byte) (*Feed, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, errors.New("parse IP ranges feed: it is empty")
	}
	if trimmed[0] != '{' {
		return nil, fmt.Errorf("parse IP ranges feed: it is not a JSON object (it starts with %q): is it Atlassian's feed from %s?", preview(trimmed), DefaultURL)
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	var raw rawFeed
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("parse IP ranges feed: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("parse IP ranges feed: data after the JSON object")
	}
	if raw.Items == nil {
		return nil, fmt.Errorf(`parse IP ranges feed: it has no "items" array: is it Atlassian's feed from %s?`, DefaultURL)
	}
	f := &Feed{CreationDate: raw.CreationDate, Items: make([]Item, 0, len(*raw.Items))}
	tok, err := syncToken(raw.SyncToken)
	if err != nil {
		return nil, fmt.Errorf("parse IP ranges feed: %w", err)
	}
	f.SyncToken = tok
	for i, ri := range *raw.Items {
		it, err := ri.item()
		if err != nil {
			return nil, fmt.Errorf("parse IP ranges feed: item %d: %w", i, err)
		}
		f.Items = append(f.Items, it)
	}
	return f, nil
}

func preview(b []byte) string {
	const n = 20
	if len(b) > n {
		b = b[:n]
		for len(b) > 0 && !utf8.Valid(b) {
			b = b[:len(b)-1]
		}
		return string(b) + "…"
	}
	return string(b)
}

func syncToken(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return n.String(), nil
	}
	return "", fmt.Errorf("syncToken %s is neither a number nor a string", raw)
}

func (ri rawItem) item() (Item, error) {
	var p netip.Prefix
	switch {
	case ri.CIDR != "":
		var err error
		if p, err = netip.ParsePrefix(ri.CIDR); err != nil {
			return Item{}, fmt.Errorf("cidr %q is not a CIDR range such as 192.0.2.0/24", ri.CIDR)
		}
	case ri.Network != "" && ri.MaskLen != nil:
		a, err := parseNetwork(ri.Network)
		if err != nil {
			return Item{}, err
		}
		if p, err = a.Prefix(*ri.MaskLen); err != nil || *ri.MaskLen < 0 {
			return Item{}, fmt.Errorf("mask_len %d does not fit network %s", *ri.MaskLen, ri.Network)
		}
	default:
		return Item{}, errors.New(`it has no "cidr" (nor "network" and "mask_len")`)
	}
	if p.Addr().Is4In6() {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	if ri.Network != "" && ri.CIDR != "" {
		a, err := parseNetwork(ri.Network)
		if err != nil {
			return Item{}, err
		}
		if a.Unmap() != p.Addr() {
			return Item{}, fmt.Errorf("network %s contradicts cidr %s", ri.Network, ri.CIDR)
		}
	}
	if ri.MaskLen != nil && ri.CIDR != "" && *ri.MaskLen != p.Bits() {
		return Item{}, fmt.Errorf("mask_len %d contradicts cidr %s", *ri.MaskLen, ri.CIDR)
	}
	return Item{
		Prefix:     p.Masked(),
		Regions:    ri.Region,
		Products:   ri.Product,
		Directions: ri.Direction,
		Perimeter:  ri.Perimeter,
	}, nil
}

func parseNetwork(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("network %q is not an IP address", s)
	}
	return a, nil
}

// Read parses a feed from r, refusing more than MaxFeedBytes.
func Read(r io.Reader) (*Feed, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFeedBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read IP ranges feed: %w", err)
	}
	if len(data) > MaxFeedBytes {
		return nil, fmt.Errorf("read IP ranges feed: it is larger than %d bytes, far more than Atlassian's feed", MaxFeedBytes)
	}
	return Parse(data)
}

// Fetch downloads and parses the feed at url with client, which should have a
// timeout.
func Fetch(ctx context.Context, client *http.Client, url string) (*Feed, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch IP ranges feed: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch IP ranges feed: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch IP ranges feed: GET %s answered %s", url, resp.Status)
	}
	f, err := Read(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	return f, nil
}

// Range is one selected range and the regions the feed gives it.
type Range struct {
	// Prefix is the range.
	Prefix netip.Prefix
	// Regions are the regions of every item with this range, sorted, without
	// duplicates.
	Regions []string
}

// Select returns the ranges of items whose products include product and whose
// directions include direction (both compared without regard to case) and, when
// regions is not empty, whose regions include one of them. The result is sorted
// (IPv4 first, then by address and prefix length) and holds each range once.
func (f *Feed) Select(product, direction string, regions []string) []Range {
	byPrefix := map[netip.Prefix]*Range{}
	for _, it := range f.Items {
		if !containsFold(it.Products, product) || !containsFold(it.Directions, direction) {
			continue
		}
		if len(regions) > 0 && !slices.ContainsFunc(regions, func(r string) bool { return containsFold(it.Regions, r) }) {
			continue
		}
		r := byPrefix[it.Prefix]
		if r == nil {
			r = &Range{Prefix: it.Prefix}
			byPrefix[it.Prefix] = r
		}
		r.Regions = append(r.Regions, it.Regions...)
	}
	out := make([]Range, 0, len(byPrefix))
	for _, r := range byPrefix {
		slices.Sort(r.Regions)
		r.Regions = slices.Compact(r.Regions)
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b Range) int { return comparePrefix(a.Prefix, b.Prefix) })
	return out
}

// Regions returns the regions of the items with product and direction, sorted,
// without duplicates: what Select's regions may name.
func (f *Feed) Regions(product, direction string) []string {
	var out []string
	for _, it := range f.Items {
		if containsFold(it.Products, product) && containsFold(it.Directions, direction) {
			out = append(out, it.Regions...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return cmp.Compare(a.Bits(), b.Bits())
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(strings.TrimSpace(v), s) {
			return true
		}
	}
	return false
}
