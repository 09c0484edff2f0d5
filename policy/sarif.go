package policy

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// WriteFindingsText writes findings for people, one per line with its fix, then a
// summary line. file names the linted document.
func WriteFindingsText(w io.Writer, file string, fs []Finding) error {
	var b strings.Builder
	errs, warns, infos := 0, 0, 0
	for _, f := range fs {
		loc := file
		if f.Line > 0 {
			loc = fmt.Sprintf("%s:%d:%d", file, f.Line, f.Column)
		}
		fmt.Fprintf(&b, "%s: %s [%s] %s\n    fix: %s\n", loc, f.Severity, f.RuleID, f.Message, f.Fix)
		switch f.Severity {
		case SeverityError:
			errs++
		case SeverityWarning:
			warns++
		default:
			infos++
		}
	}
	if len(fs) == 0 {
		fmt.Fprintf(&b, "%s: no findings\n", file)
	} else {
		fmt.Fprintf(&b, "%d finding(s): %d error(s), %d warning(s), %d info\n", len(fs), errs, warns, infos)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteFindingsJSON writes {"file": …, "findings": [...]} as indented JSON.
func WriteFindingsJSON(w io.Writer, file string, fs []Finding) error {
	if fs == nil {
		fs = []Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(struct {
		File     string    `json:"file"`
		Findings []Finding `json:"findings"`
	}{file, fs})
}

// SARIF 2.1.0 document types (the subset keyless emits).
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID                   string       `json:"id"`
	Name                 string       `json:"name"`
	ShortDescription     sarifText    `json:"shortDescription"`
	FullDescription      sarifText    `json:"fullDescription"`
	Help                 sarifText    `json:"help"`
	DefaultConfiguration sarifDefault `json:"defaultConfiguration"`
}

type sarifDefault struct {
	Level string `json:"level"`
}

type sarifResult struct {
	RuleID     string            `json:"ruleId"`
	RuleIndex  int               `json:"ruleIndex"`
	Level      string            `json:"level"`
	Message    sarifText         `json:"message"`
	Locations  []sarifLocation   `json:"locations"`
	Properties map[string]string `json:"properties,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical  `json:"physicalLocation"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
}

type sarifLogical struct {
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

func sarifLevel(s Severity) string {
	switch s {
	case SeverityError:
		return "error"
	case SeverityWarning:
		return "warning"
	}
	return "note"
}

// FileFindings are the findings of one linted document.
type FileFindings struct {
	// File names the document; it becomes the SARIF artifact URI.
	File     string
	Findings []Finding
}

// WriteSARIF writes findings as a SARIF 2.1.0 log for code-scanning tools. file is
// the artifact URI of the linted document.
func WriteSARIF(w io.Writer, file string, fs []Finding) error {
	return WriteSARIFFiles(w, []FileFindings{{File: file, Findings: fs}})
}

// WriteSARIFFiles writes the findings of several documents as one SARIF 2.1.0 log
// with one run, each result located in its own file.
func WriteSARIFFiles(w io.Writer, files []FileFindings) error {
	driver := sarifDriver{Name: "keyless policy lint", InformationURI: "https://github.com/keyless-dev/keyless"}
	index := map[string]int{}
	for i, r := range rules {
		index[r.ID] = i
		driver.Rules = append(driver.Rules, sarifRule{
			ID: r.ID, Name: ruleName(r.ID), ShortDescription: sarifText{r.Title}, FullDescription: sarifText{r.Help},
			Help: sarifText{r.Help}, DefaultConfiguration: sarifDefault{sarifLevel(r.Severity)},
		})
	}
	results := []sarifResult{}
	for _, ff := range files {
		results = appendSARIFResults(results, index, ff.File, ff.Findings)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs:    []sarifRun{{Tool: sarifTool{Driver: driver}, Results: results}},
	})
}

// appendSARIFResults appends the results of one file's findings; index maps rule IDs
// to their position in the driver's rules.
func appendSARIFResults(results []sarifResult, index map[string]int, file string, fs []Finding) []sarifResult {
	for _, f := range fs {
		loc := sarifLocation{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: file}}}
		if f.Line > 0 {
			loc.PhysicalLocation.Region = &sarifRegion{StartLine: f.Line, StartColumn: f.Column}
		}
		if f.Statement >= 0 {
			loc.LogicalLocations = []sarifLogical{{FullyQualifiedName: fmt.Sprintf("Statement[%d]", f.Statement), Kind: "object"}}
		}
		results = append(results, sarifResult{
			RuleID: f.RuleID, RuleIndex: index[f.RuleID], Level: sarifLevel(f.Severity),
			Message: sarifText{f.Message + ". Fix: " + f.Fix}, Locations: []sarifLocation{loc},
			Properties: map[string]string{"fix": f.Fix},
		})
	}
	return results
}

// ruleName turns "no-sub-condition" into "NoSubCondition".
func ruleName(id string) string {
	var b strings.Builder
	for _, part := range strings.Split(id, "-") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}
