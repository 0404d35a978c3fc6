package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"accountd/domain"
)

const policyUsage = `Usage: accountd policy [flags]

Prints the effective policy, as serve would load it from the same flags and environment:
every setting with its value, its default, the values it may take, where the value came
from (default, file, environment or flag) and the rule it carries (domain/RULES.md).

The sources, later ones winning: the defaults, --policy-file (JSON, the settings' names as
below), ACCOUNTD_POLICY_<SETTING> variables, then --policy setting=value flags.

Examples:
  accountd policy
  ACCOUNTD_POLICY_LOCKOUT_THRESHOLD=7 accountd policy --policy disclosure=generic
  accountd policy --policy-file policy.json --format json

Flags (environment equivalent in brackets):
`

// policyRow is one setting as accountd policy prints it.
type policyRow struct {
	Setting string `json:"setting"`
	Value   any    `json:"value"`
	Default any    `json:"default"`
	Allowed string `json:"allowed"`
	Source  string `json:"source"`
	Rule    string `json:"rule"`
}

func runPolicy(args, environ []string, stdout, stderr io.Writer) error {
	fs := newToolFlags("policy", policyUsage, stderr)
	file := fs.String("policy-file", "", "policy JSON `file`")
	var overrides listFlag
	fs.Var(&overrides, "policy", "policy `setting=value` override, repeatable")
	format := fs.String("format", "text", "text or json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	env := envMap(environ)
	if err := applyEnv(fs, env); err != nil {
		return err
	}
	p, sources, err := loadPolicySources(*file, env, overrides)
	if err != nil {
		return usageError{err}
	}
	rows, err := policyRows(p, sources)
	if err != nil {
		return err
	}
	switch *format {
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	case "text":
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SETTING\tVALUE\tDEFAULT\tALLOWED\tSOURCE\tRULE")
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%v\t%v\t%s\t%s\t%s\n", r.Setting, r.Value, r.Default, r.Allowed, r.Source, r.Rule)
		}
		return tw.Flush()
	}
	return usageError{fmt.Errorf("--format %q: want text or json", *format)}
}

// policyRows reads values and defaults through the policy's JSON form, so each is shown
// exactly as a policy file would write it ("90d", not 2160h0m0s).
func policyRows(p domain.Policy, sources map[string]string) ([]policyRow, error) {
	values, err := policyFields(p)
	if err != nil {
		return nil, err
	}
	defaults, err := policyFields(domain.DefaultPolicy())
	if err != nil {
		return nil, err
	}
	var rows []policyRow
	for _, s := range domain.PolicySettings() {
		src := sources[s.Name]
		if src == "" {
			src = "default"
		}
		rows = append(rows, policyRow{Setting: s.Name, Value: values[s.Name], Default: defaults[s.Name], Allowed: s.Allowed, Source: src, Rule: s.Rule})
	}
	return rows, nil
}

func policyFields(p domain.Policy) (map[string]any, error) {
	doc, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	d := json.NewDecoder(strings.NewReader(string(doc)))
	d.UseNumber()
	return m, d.Decode(&m)
}
