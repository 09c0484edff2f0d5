package thumbprint

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// WriteText writes the thumbprints one per line. When one host serves both the
// discovery document and the keys, that is the thumbprint alone, ready for a
// script; otherwise each line is "THUMBPRINT  ROLE host HOST:PORT", the jwks_uri
// host first.
func (r *Result) WriteText(w io.Writer) error {
	var b strings.Builder
	if len(r.Hosts) == 1 {
		b.WriteString(r.Hosts[0].Thumbprint + "\n")
	} else {
		for _, h := range r.Hosts {
			fmt.Fprintf(&b, "%s  %s host %s\n", h.Thumbprint, strings.Join(h.Roles, " and "), h.Address)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the result as indented JSON: discoveryUrl, jwksUri, thumbprints
// (the ThumbprintList for IAM) and hosts.
func (r *Result) WriteJSON(w io.Writer) error {
	out := struct {
		DiscoveryURL string   `json:"discoveryUrl"`
		JWKSURI      string   `json:"jwksUri"`
		Thumbprints  []string `json:"thumbprints"`
		Hosts        []Host   `json:"hosts"`
	}{r.DiscoveryURL, r.JWKSURI, r.Thumbprints(), r.Hosts}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return fmt.Errorf("encode thumbprints: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
