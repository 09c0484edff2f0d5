package run

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteText writes the summary table of the pipeline: each step's result,
// duration and role, a failed step's error and the reason of a denial under it,
// and the pipeline's result.
func (r Result) WriteText(w io.Writer) error {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tRESULT\tDURATION\tROLE")
	for _, s := range r.Steps {
		dur := "-"
		if s.Status == Passed || s.Status == Failed {
			dur = s.Duration.Round(time.Millisecond).String()
		}
		role := s.Role
		if role == "" {
			role = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, s.Status, dur, role)
	}
	tw.Flush()
	for _, s := range r.Steps {
		if s.Status != Failed {
			continue
		}
		fmt.Fprintf(&b, "%s: %s\n", s.Name, s.Error)
		if s.Explanation != "" {
			fmt.Fprintf(&b, "  why: %s\n", strings.ReplaceAll(s.Explanation, "\n", "\n       "))
		}
	}
	if r.OK {
		b.WriteString("Pipeline passed.\n")
	} else {
		b.WriteString("Pipeline failed.\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
