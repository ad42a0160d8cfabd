// Package compat is the breaking-change gate of Bazaar's public API: it
// compares the document with the one last released (openapi/released)
// using oasdiff's checks, and refuses a change that would break an
// existing client — unless the document's version says it is a new major
// version, when the report is only told.
package compat

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/oasdiff/oasdiff/checker"
	"github.com/oasdiff/oasdiff/diff"
	"github.com/oasdiff/oasdiff/load"
)

// Report is what changed between the released document and this one.
type Report struct {
	Breaking []string // the changes that break a client, one line each
	Other    []string // warnings: changes a client may notice
	// MajorBump says the document's version is a new major version: its
	// breaking changes are allowed.
	MajorBump bool
	From, To  string // the versions compared
}

// Allowed reports whether the change may go in.
func (r Report) Allowed() bool { return len(r.Breaking) == 0 || r.MajorBump }

// String is the report as a person reads it.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "released %s → this %s: %d breaking, %d other\n", r.From, r.To, len(r.Breaking), len(r.Other))
	for _, line := range r.Breaking {
		b.WriteString("  breaking: " + line + "\n")
	}
	for _, line := range r.Other {
		b.WriteString("  warning:  " + line + "\n")
	}
	switch {
	case len(r.Breaking) > 0 && r.MajorBump:
		b.WriteString("allowed: the version says this is a new major version\n")
	case len(r.Breaking) > 0:
		b.WriteString("refused: a breaking change needs a new major version (info.version)\n")
	}
	return b.String()
}

// Compare checks revision against the released document.
func Compare(released, revision []byte) (Report, error) {
	loader := openapi3.NewLoader()
	base, err := load.NewSpecInfoFromData(loader, released, "released")
	if err != nil {
		return Report{}, fmt.Errorf("the released document: %w", err)
	}
	next, err := load.NewSpecInfoFromData(loader, revision, "revision")
	if err != nil {
		return Report{}, fmt.Errorf("the document: %w", err)
	}
	d, sources, err := diff.GetPathsDiff(diff.NewConfig(), []*load.SpecInfo{base}, []*load.SpecInfo{next})
	if err != nil {
		return Report{}, fmt.Errorf("compare the documents: %w", err)
	}
	r := Report{From: base.Spec.Info.Version, To: next.Spec.Info.Version}
	r.MajorBump = major(r.To) > major(r.From)
	l := checker.NewDefaultLocalizer()
	for _, c := range checker.CheckBackwardCompatibility(checker.NewConfig(checker.GetAllChecks()), d, sources) {
		line := fmt.Sprintf("%s %s: %s", c.GetOperation(), c.GetPath(), c.GetUncolorizedText(l))
		if c.GetLevel() == checker.ERR {
			r.Breaking = append(r.Breaking, line)
		} else {
			r.Other = append(r.Other, line)
		}
	}
	return r, nil
}

// major is a version's major number: "2", "2.1" and "v2.0.3" are 2.
func major(version string) int {
	v := strings.TrimPrefix(strings.TrimSpace(version), "v")
	n, _ := strconv.Atoi(strings.SplitN(v, ".", 2)[0])
	return n
}
