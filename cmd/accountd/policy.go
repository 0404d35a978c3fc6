package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"accountd/domain"
)

// policyOverride is one setting changed from the environment or a flag.
type policyOverride struct {
	source string // where it came from, for messages: ACCOUNTD_POLICY_X or --policy
	field  string // JSON name, e.g. lockout_threshold
	value  string
}

// loadPolicy builds the policy in force: defaults, then the policy file, then
// ACCOUNTD_POLICY_<FIELD> variables, then --policy field=value flags. Every error names
// the setting and where it came from; the result is validated against the rulebook's bounds.
func loadPolicy(file string, env map[string]string, flags []string) (domain.Policy, error) {
	p, _, err := loadPolicySources(file, env, flags)
	return p, err
}

// loadPolicySources is loadPolicy that also says where each setting came from, by its
// policy-file name: "file PATH", the variable's name, or "flag --policy". A setting
// absent from the map is the default.
func loadPolicySources(file string, env map[string]string, flags []string) (domain.Policy, map[string]string, error) {
	sources := map[string]string{}
	p, err := loadPolicyInto(file, env, flags, sources)
	return p, sources, err
}

func loadPolicyInto(file string, env map[string]string, flags []string, sources map[string]string) (domain.Policy, error) {
	p := domain.DefaultPolicy()
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return p, fmt.Errorf("policy file: %w", err)
		}
		if p, err = domain.ParsePolicyJSON(data); err != nil {
			return p, fmt.Errorf("policy file %s: %w", file, err)
		}
		var given map[string]json.RawMessage
		if json.Unmarshal(data, &given) == nil {
			for name := range given {
				sources[name] = "file " + file
			}
		}
	}
	var overrides []policyOverride
	var envKeys []string
	for k := range env {
		if strings.HasPrefix(k, envPrefix+"POLICY_") && k != envName("policy-file") {
			envKeys = append(envKeys, k)
		}
	}
	sort.Strings(envKeys)
	for _, k := range envKeys {
		overrides = append(overrides, policyOverride{source: k, field: strings.ToLower(strings.TrimPrefix(k, envPrefix+"POLICY_")), value: env[k]})
	}
	for _, f := range flags {
		name, value, ok := strings.Cut(f, "=")
		if !ok {
			return p, fmt.Errorf("--policy %q: want field=value, e.g. lockout_threshold=7", f)
		}
		overrides = append(overrides, policyOverride{source: "flag --policy", field: strings.ReplaceAll(strings.TrimSpace(name), "-", "_"), value: strings.TrimSpace(value)})
	}
	for _, o := range overrides {
		var err error
		if p, err = o.apply(p); err != nil {
			return p, err
		}
		sources[o.field] = o.source
		if strings.HasPrefix(o.source, envPrefix) {
			sources[o.field] = "environment " + o.source
		}
	}
	if err := p.Validate(); err != nil {
		return p, err
	}
	return p, nil
}

// apply sets one field through the policy's JSON form, so the names and the parsing
// (durations like "90d") are exactly those of a policy file.
func (o policyOverride) apply(p domain.Policy) (domain.Policy, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s: policy field %q: %s", o.source, o.field, fmt.Sprintf(format, args...))
	}
	doc, err := json.Marshal(p)
	if err != nil {
		return p, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(doc, &fields); err != nil {
		return p, err
	}
	current, ok := fields[o.field]
	if !ok {
		names := make([]string, 0, len(fields))
		for n := range fields {
			names = append(names, n)
		}
		sort.Strings(names)
		return p, bad("unknown setting (known: %s)", strings.Join(names, ", "))
	}
	var raw []byte
	switch s := string(current); {
	case strings.HasPrefix(s, `"`):
		raw, _ = json.Marshal(o.value)
	case s == "true" || s == "false":
		b, err := strconv.ParseBool(o.value)
		if err != nil {
			return p, bad("%q is not true or false", o.value)
		}
		raw = []byte(strconv.FormatBool(b))
	default:
		n, err := strconv.Atoi(o.value)
		if err != nil {
			return p, bad("%q is not a whole number", o.value)
		}
		raw = []byte(strconv.Itoa(n))
	}
	fields[o.field] = raw
	doc, _ = json.Marshal(fields)
	var next domain.Policy
	if err := json.Unmarshal(doc, &next); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return p, bad("%v", err)
		}
		return p, bad("%q: %v", o.value, err)
	}
	return next, nil
}
