package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/keyless-dev/keyless/policy"
	"github.com/spf13/cobra"
)

// newPolicyCmd builds "keyless policy" and its subcommands validate, lint and simulate.
func newPolicyCmd(s Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Validate, lint and simulate IAM policies",
		Long: `Work with AWS IAM policy documents using the same engine keyless's IAM and STS use:
validate a document as AWS would, lint trust policies for roles any repository could
assume, and simulate a request to see the decision and the statement and condition
that decided it.`,
		Example: `  keyless policy validate trust.json
  keyless policy lint trust.json --format sarif > lint.sarif
  keyless policy simulate --input request.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newPolicyValidateCmd(s), newPolicyLintCmd(s), newPolicySimulateCmd(s))
	return cmd
}

// policyFiles expands the FILE arguments of validate and lint: a pattern with *, ?
// or [ becomes the files it matches, in order, and must match at least one; "-" is
// standard input and may appear once.
func policyFiles(args []string) ([]string, error) {
	if len(args) == 0 {
		return nil, errors.New("no policy FILE given: name one or more files, glob patterns (policies/*.json) or - for standard input")
	}
	var files []string
	stdin := false
	for _, a := range args {
		switch {
		case a == "-":
			if stdin {
				return nil, errors.New("standard input (-) given twice: it can be read only once")
			}
			stdin = true
			files = append(files, a)
		case strings.ContainsAny(a, "*?["):
			matches, err := filepath.Glob(a)
			if err != nil {
				return nil, fmt.Errorf("bad glob pattern %q: %w", a, err)
			}
			if len(matches) == 0 {
				return nil, fmt.Errorf("no file matches %q", a)
			}
			files = append(files, matches...)
		default:
			files = append(files, a)
		}
	}
	return files, nil
}

// readInput reads a named file, or standard input for "-".
func readInput(s Streams, name string) ([]byte, error) {
	if name == "-" {
		if s.In == nil {
			return nil, errors.New("no standard input")
		}
		return io.ReadAll(s.In)
	}
	return os.ReadFile(name)
}

// loadPolicy reads and parses a policy, detecting its kind unless kindFlag names it.
func loadPolicy(s Streams, file, kindFlag string) (*policy.Policy, error) {
	doc, err := readInput(s, file)
	if err != nil {
		return nil, err
	}
	kind := policy.DetectKind(doc)
	if kindFlag != "" {
		if kind, err = policy.ParseKind(kindFlag); err != nil {
			return nil, err
		}
	}
	p, err := policy.Parse(doc, kind)
	if err != nil {
		return nil, fmt.Errorf("%s: invalid %s policy: %w", file, kind, err)
	}
	return p, nil
}

// validation is the outcome of validating one file, as `validate --output json`
// writes it.
type validation struct {
	File       string `json:"file"`
	Valid      bool   `json:"valid"`
	Kind       string `json:"kind,omitempty"`
	Statements int    `json:"statements,omitempty"`
	Error      string `json:"error,omitempty"`
}

func newPolicyValidateCmd(s Streams) *cobra.Command {
	var kind, output string
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check that policy documents are valid, as IAM would",
		Long: `Validate policy documents: JSON syntax, elements, operators, values and the size
limit of their kind. The kind is detected (statements with a Principal make a trust or
resource policy) unless --kind names it. FILE may be a glob pattern (quote it) or - for
standard input. Every file is checked and reported; the exit status is 1 when any is
invalid. --output json writes one JSON object per file:
{"file", "valid", "kind", "statements", "error"}.`,
		Example: `  keyless policy validate trust.json
  keyless policy validate 'policies/*.json' --output json
  keyless policy validate --kind identity deploy-permissions.json
  cat session.json | keyless policy validate --kind session -`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return fmt.Errorf("invalid --output %q: use text or json", output)
			}
			if kind != "" {
				if _, err := policy.ParseKind(kind); err != nil {
					return err
				}
			}
			files, err := policyFiles(args)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(s.Out)
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false)
			invalid := 0
			for _, file := range files {
				v := validation{File: file}
				p, err := loadPolicy(s, file, kind)
				if err == nil {
					v.Valid, v.Kind, v.Statements = true, p.Kind.String(), len(p.Statements)
				} else {
					invalid++
					v.Error = err.Error()
				}
				switch {
				case output == "json":
					if err := enc.Encode(v); err != nil {
						return err
					}
				case v.Valid:
					plural := "s"
					if v.Statements == 1 {
						plural = ""
					}
					fmt.Fprintf(s.Out, "%s: valid %s policy (%d statement%s)\n", file, v.Kind, v.Statements, plural)
				default:
					fmt.Fprintf(s.Err, "keyless: %s\n", v.Error)
				}
			}
			switch {
			case invalid == 0:
				return nil
			case len(files) == 1:
				return &ExitError{Code: 1}
			}
			return &ExitError{Code: 1, Err: fmt.Errorf("%d of %d policies are invalid", invalid, len(files))}
		},
	}
	cmd.Flags().StringVar(&kind, "kind", "", "policy kind: identity, trust, resource, session or boundary (default: detected)")
	cmd.Flags().StringVar(&output, "output", "text", "output: text or json (one object per file)")
	return cmd
}

func newPolicyLintCmd(s Streams) *cobra.Command {
	var (
		kind, format string
		template     templateFlags
	)
	cmd := &cobra.Command{
		Use:   "lint FILE... | --cloudformation TEMPLATE [--parameter KEY=VALUE]...",
		Short: "Find dangerous or ineffective constructs in policies",
		Long: `Lint a policy document. Trust policies that trust an OIDC provider are checked for a
missing sub condition (any repository on the issuer could assume the role), a missing
aud condition, over-broad sub patterns, Principal "*" and wildcard actions; permission
policies for "*" on "*" and iam:PassRole on "*"; every policy for wildcards inside
StringEquals and ForAllValues in an Allow. FILE may be a glob pattern (quote it) or -
for standard input; every file is linted. --format json writes one {"file", "findings"}
object per file; sarif writes one log for all. Exits 1 when a finding has severity
error.

With --cloudformation TEMPLATE, lint every policy document of the template's IAM
resources instead — each role's trust policy and inline policies (AWS::IAM::Role
Policies, AWS::IAM::Policy, AWS::IAM::RolePolicy) and each AWS::IAM::ManagedPolicy —
resolved as "keyless plan --cloudformation" resolves them (--parameter KEY=VALUE for
each parameter without a default; ARNs carry <account-id>), each reported as
"TEMPLATE: role NAME, trust policy" and so on.`,
		Example: `  keyless policy lint trust.json
  keyless policy lint --format json 'roles/*-trust.json'
  keyless policy lint --kind identity --format sarif permissions.json > lint.sarif
  keyless policy lint --cloudformation bitbucket-oidc.yaml --parameter WorkspaceName=acme --parameter RoleName=deploy`,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch format {
			case "text", "json", "sarif":
			default:
				return fmt.Errorf("unknown --format %q (want text, json or sarif)", format)
			}
			if err := template.check(); err != nil {
				return err
			}
			var linted []policy.FileFindings
			if template.file != "" {
				if len(args) > 0 {
					return fmt.Errorf("policy FILE arguments and --cloudformation %s: lint one or the other", template.file)
				}
				if kind != "" {
					return errors.New("--kind does not go with --cloudformation: each document's kind is that of its resource")
				}
				var err error
				if linted, err = lintTemplate(template); err != nil {
					return err
				}
				return writeLint(s, format, linted, template.file)
			}
			files, err := policyFiles(args)
			if err != nil {
				return err
			}
			for _, file := range files {
				p, err := loadPolicy(s, file, kind)
				if err != nil {
					return err
				}
				name := file
				if name == "-" {
					name = "stdin"
				}
				linted = append(linted, policy.FileFindings{File: name, Findings: policy.Lint(p)})
			}
			return writeLint(s, format, linted, "")
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text, json or sarif")
	cmd.Flags().StringVar(&kind, "kind", "", "policy kind: trust, identity or resource (also session, boundary; default: detected)")
	template.register(cmd.Flags(), "lint")
	return cmd
}

// writeLint writes the findings of the linted documents in format and returns an
// *ExitError with status 1 when one has severity error. artifact, when not
// empty, is the SARIF artifact of every document (the template they come from).
func writeLint(s Streams, format string, linted []policy.FileFindings, artifact string) error {
	if format == "sarif" {
		files := linted
		if artifact != "" {
			files = make([]policy.FileFindings, len(linted))
			for i, ff := range linted {
				files[i] = policy.FileFindings{File: artifact, Findings: ff.Findings}
			}
		}
		if err := policy.WriteSARIFFiles(s.Out, files); err != nil {
			return err
		}
	}
	failed := false
	for _, ff := range linted {
		var err error
		switch format {
		case "json":
			err = policy.WriteFindingsJSON(s.Out, ff.File, ff.Findings)
		case "text":
			err = policy.WriteFindingsText(s.Out, ff.File, ff.Findings)
		}
		if err != nil {
			return err
		}
		failed = failed || policy.HasErrors(ff.Findings)
	}
	if failed {
		return &ExitError{Code: 1}
	}
	return nil
}

// lintTemplate reads a CloudFormation template's IAM resources (the reader lints
// every document) and returns one entry per document, in the State's order — each
// role's trust policy, then its inline policies, then the managed policies — named
// "TEMPLATE: role NAME, trust policy", "…: role NAME, inline policy P" or "…:
// managed policy P". Positions inside the resolved documents are dropped: they
// are not positions in the template.
func lintTemplate(t templateFlags) ([]policy.FileFindings, error) {
	opts, err := t.options()
	if err != nil {
		return nil, err
	}
	opts.Region = os.Getenv("AWS_REGION")
	if opts.Region == "" {
		opts.Region = os.Getenv("AWS_DEFAULT_REGION")
	}
	st, err := t.read(opts)
	if err != nil {
		return nil, err
	}
	type key struct{ role, policy string }
	byDoc := map[key][]policy.Finding{}
	for _, f := range st.Findings {
		pf := f.Finding
		pf.Line, pf.Column = 0, 0
		byDoc[key{f.Role, f.Policy}] = append(byDoc[key{f.Role, f.Policy}], pf)
	}
	var out []policy.FileFindings
	add := func(k key, label string) {
		out = append(out, policy.FileFindings{File: t.file + ": " + label, Findings: byDoc[k]})
	}
	for _, r := range st.Roles {
		add(key{r.Name, "trust"}, "role "+r.Name+", trust policy")
		for _, ip := range r.InlinePolicies {
			add(key{r.Name, ip.Name}, "role "+r.Name+", inline policy "+ip.Name)
		}
	}
	for _, mp := range st.Policies {
		add(key{"", mp.Name}, "managed policy "+mp.Name)
	}
	return out, nil
}

func newPolicySimulateCmd(s Streams) *cobra.Command {
	var input string
	var jsonl bool
	cmd := &cobra.Command{
		Use:   "simulate",
		Short: "Decide a request against policies and explain the decision",
		Long: `Simulate reads a document
  {"request": {"principal": "…", "action": "…", "resource": "…", "context": {"key": "v" | ["v1", "v2"]}},
   "identityPolicies": [ … ], "resourcePolicy": { … }, "sessionPolicy": { … }, "permissionsBoundary": { … }}
(every field but request optional; a policy may also be a string holding the JSON) and
writes {"decision": "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied", "explain": { … }},
where explain traces every statement and condition and "message" says why in words.
With --jsonl it reads one document per line and writes one result per line, in order;
a line that cannot be simulated yields {"line": N, "error": "…"} and exit status 1.`,
		Example: `  keyless policy simulate --input request.json
  keyless policy simulate < request.json
  keyless policy simulate --jsonl --input requests.jsonl > results.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if jsonl {
				return simulateLines(s, input)
			}
			data, err := readInput(s, input)
			if err != nil {
				return err
			}
			res, err := simulateOne(data)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(s.Out)
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false)
			return enc.Encode(res)
		},
	}
	cmd.Flags().StringVar(&input, "input", "-", "input document FILE, or - for standard input")
	cmd.Flags().BoolVar(&jsonl, "jsonl", false, "read one JSON document per line and write one result per line")
	return cmd
}

func simulateOne(data []byte) (policy.Result, error) {
	sim, err := policy.ParseSimulation(data)
	if err != nil {
		return policy.Result{}, err
	}
	return sim.Run()
}

func simulateLines(s Streams, input string) error {
	var r io.Reader
	if input == "-" {
		if s.In == nil {
			return errors.New("no standard input")
		}
		r = s.In
	} else {
		f, err := os.Open(input)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	w := bufio.NewWriter(s.Out)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	line, failed, total := 0, 0, 0
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		total++
		res, err := simulateOne(text)
		if err != nil {
			failed++
			if err := enc.Encode(struct {
				Line  int    `json:"line"`
				Error string `json:"error"`
			}{line, err.Error()}); err != nil {
				return err
			}
			continue
		}
		if err := enc.Encode(res); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := sc.Err(); err != nil {
		name := input
		if name == "-" {
			name = "standard input"
		}
		return fmt.Errorf("reading %s: %w", name, err)
	}
	if failed > 0 {
		return &ExitError{Code: 1, Err: fmt.Errorf("simulate: %d of %d documents could not be simulated", failed, total)}
	}
	return nil
}
