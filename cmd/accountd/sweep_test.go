package main

import (
	"strings"
	"testing"
	"time"

	"accountd/projections/compliance"
)

// The sweep's report says what it looked at and, when nobody was disabled, why.
func TestSweepReportSaysWhyNothingWasDue(t *testing.T) {
	cutoff := time.Date(2026, 9, 2, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		res  compliance.SweepResult
		want []string
	}{
		{"an empty log", compliance.SweepResult{Cutoff: cutoff}, []string{"0 account(s) watched", "nothing was due: no account to watch yet"}},
		{"everyone active", compliance.SweepResult{Watched: 12, Cutoff: cutoff, NextDueAt: cutoff.Add(40 * 24 * time.Hour)},
			[]string{"12 account(s) watched", "last sign-in before 2026-09-02T00:00:00Z", "every watched account was active since the cutoff", "the next becomes due at 2026-10-12T00:00:00Z"}},
		{"two disabled", compliance.SweepResult{Watched: 12, Examined: 2, Disabled: 2, Cutoff: cutoff}, []string{"2 due and examined, 2 disabled"}},
		{"one signed in meanwhile", compliance.SweepResult{Watched: 12, Examined: 2, Disabled: 1, Cutoff: cutoff}, []string{"1 due account(s) were left as they are"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := sweepReport(tc.res)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("report lacks %q:\n%s", w, got)
				}
			}
		})
	}
}
