package main

import (
	"bytes"
	"strings"
	"testing"
)

// serve knows every variable the other commands read, from their flag declarations, so
// one shell can serve every command; it still warns about a variable no command reads.
func TestServeKnowsEveryCommandsVariables(t *testing.T) {
	known := otherCommandsEnv()
	if len(known) < 20 {
		t.Fatalf("found only %d variables of the other commands: the --help texts no longer list them", len(known))
	}
	for _, tc := range []struct {
		name, variable string
		warned         bool
	}{
		{"history's --account", "ACCOUNTD_ACCOUNT", false},
		{"bench's --connections", "ACCOUNTD_CONNECTIONS", false},
		{"tokens' --role", "ACCOUNTD_ROLE", false},
		{"evidence verify's --verifier-key", "ACCOUNTD_VERIFIER_KEY", false},
		{"policy's --format", "ACCOUNTD_FORMAT", false},
		{"serve's own --addr", "ACCOUNTD_ADDR", false},
		{"a typo", "ACCOUNTD_ADRR", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			if _, err := parseServe([]string{"--log-level", "warn"}, []string{tc.variable + "=1"}, &stderr); err != nil && !strings.Contains(err.Error(), tc.variable) {
				t.Fatal(err)
			}
			if warned := strings.Contains(stderr.String(), "ignoring unknown environment variable"); warned != tc.warned {
				t.Errorf("%s: warned %v, want %v: %s", tc.variable, warned, tc.warned, stderr.String())
			}
		})
	}
}
