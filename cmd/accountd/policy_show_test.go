package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"accountd/domain"
)

// accountd policy shows every setting with its value and where that value came from, with
// the precedence serve applies: default, file, environment, flag.
func TestPolicyCommandShowsValuesAndSources(t *testing.T) {
	file := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(file, []byte(`{"lockout_threshold": 8, "password_max_age": "60d", "disclosure": "generic"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := run([]string{"policy", "--format", "json", "--policy-file", file, "--policy", "disclosure=specific"},
		[]string{"ACCOUNTD_POLICY_LOCKOUT_THRESHOLD=7"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var rows []policyRow
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil {
		t.Fatal(err)
	}
	byName := map[string]policyRow{}
	for _, r := range rows {
		if r.Allowed == "" || r.Rule == "" {
			t.Errorf("%s: no allowed range or rule: %+v", r.Setting, r)
		}
		byName[r.Setting] = r
	}
	for _, tc := range []struct{ setting, value, def, source string }{
		{"lockout_threshold", "7", "6", "environment ACCOUNTD_POLICY_LOCKOUT_THRESHOLD"},
		{"password_max_age", "60d", "90d", "file " + file},
		{"disclosure", "specific", "specific", "flag --policy"},
		{"session_idle_timeout", "6h0m0s", "6h0m0s", "default"},
	} {
		r, ok := byName[tc.setting]
		if !ok {
			t.Errorf("%s is not listed", tc.setting)
			continue
		}
		if got, def := jsonText(r.Value), jsonText(r.Default); got != tc.value || def != tc.def || r.Source != tc.source {
			t.Errorf("%s: value %s default %s source %q, want %s %s %q", tc.setting, got, def, r.Source, tc.value, tc.def, tc.source)
		}
	}
	fields, _ := policyFields(domain.DefaultPolicy())
	if len(rows) != len(fields) {
		t.Errorf("%d settings listed, the policy has %d", len(rows), len(fields))
	}

	// A bad setting is a usage error naming it, as in serve.
	errOut.Reset()
	if code := run([]string{"policy", "--policy", "lockout_threshold=11"}, nil, &out, &errOut); code != 2 || !bytes.Contains(errOut.Bytes(), []byte("lockout_threshold")) {
		t.Errorf("out of range: exit %d: %s", code, errOut.String())
	}
}

func jsonText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}
