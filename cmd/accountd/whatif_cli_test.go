package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"accountd/eventstore/postgres"
)

// outcomeOf is the OUTCOME column of the account's row in what-if's table. The table lists
// only accounts whose replay differs: for the one account of writeLockoutLog, "unchanged"
// is no row and the totals' one recorded and one simulated lock.
func outcomeOf(out, accountID string) string {
	for line := range strings.SplitSeq(out, "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == accountID {
			return f[1]
		}
	}
	if strings.Contains(out, "Totals: 1 accounts replayed, 1 recorded locks, 1 simulated locks") {
		return "unchanged"
	}
	return ""
}

// what-if reads the log through the same flags and ACCOUNTD_ variables as serve, and starts
// from the policy recorded in the log: with no candidate setting the replay is the recording
// (three failures lock, as recorded), where the default policy's six would never have locked.
func TestWhatIfStoreFlagsAndRecordedPolicy(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	id, _ := sqliteLockoutLog(t, data)
	empty := t.TempDir()
	from, to := lockoutT0.Format(time.RFC3339), lockoutT0.Add(24*time.Hour).Format(time.RFC3339)
	period := []string{"--from", from, "--to", to}
	flags := func(extra ...string) []string { return append(append([]string{"--data", data}, period...), extra...) }
	cases := []struct {
		toolCase
		outcome string // of the account's row; "" when no table is expected
	}{
		{toolCase{name: "recorded policy, flags", args: flags(), lacks: []string{"never_locked"}}, "unchanged"},
		{toolCase{name: "recorded policy, environment", env: []string{"ACCOUNTD_DATA=" + data, "ACCOUNTD_FROM=" + from, "ACCOUNTD_TO=" + to}}, "unchanged"},
		{toolCase{name: "the recorded threshold, a candidate duration", args: flags("--lockout-duration", "0")}, "unchanged"},
		{toolCase{name: "candidate threshold by flag", args: flags("--lockout-threshold", "6"), contains: []string{"never_locked: 1"}}, "never_locked"},
		{toolCase{name: "candidate threshold by environment", args: period,
			env: []string{"ACCOUNTD_DATA=" + data, "ACCOUNTD_LOCKOUT_THRESHOLD=6"}}, "never_locked"},
		{toolCase{name: "a flag wins over the environment", args: flags("--lockout-threshold", "3"),
			env: []string{"ACCOUNTD_DATA=" + empty, "ACCOUNTD_LOCKOUT_THRESHOLD=6"}}, "unchanged"},
		{toolCase{name: "one account", args: flags("--account", id), contains: []string{"1 accounts replayed"}}, "unchanged"},
		{toolCase{name: "no log", args: append([]string{"--data", empty}, period...), fail: "no event log"}, ""},
		{toolCase{name: "unknown --store", args: flags("--store", "mongodb"), usage: true, contains: []string{`--store "mongodb": want sqlite, postgres or kurrentdb`}}, ""},
		{toolCase{name: "unknown ACCOUNTD_STORE", args: flags(), env: []string{"ACCOUNTD_STORE=mongodb"}, usage: true, contains: []string{`--store "mongodb"`}}, ""},
		{toolCase{name: "kurrentdb without a URL", args: flags("--store", "kurrentdb"), usage: true, contains: []string{"--store kurrentdb needs --store-url"}}, ""},
		{toolCase{name: "candidate out of range", args: flags("--lockout-threshold", "11"), usage: true, contains: []string{"lockout_threshold: 11 is out of range"}}, ""},
		{toolCase{name: "bad duration", args: flags("--lockout-duration", "soon"), usage: true, contains: []string{"--lockout-duration"}}, ""},
		{toolCase{name: "no period", args: []string{"--data", data}, usage: true, contains: []string{"--from and --to are required"}}, ""},
		{toolCase{name: "stray argument", args: flags("now"), usage: true, contains: []string{`unexpected argument "now"`}}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := tc.run(t, runWhatIf)
			if tc.outcome != "" {
				if got := outcomeOf(out, id); got != tc.outcome {
					t.Errorf("outcome %q, want %q:\n%s", got, tc.outcome, out)
				}
			}
		})
	}
}

// Through the command dispatcher: exit codes and --help.
func TestWhatIfCommandExitCodesAndHelp(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	sqliteLockoutLog(t, data)
	period := []string{"--from", lockoutT0.Format(time.RFC3339), "--to", lockoutT0.Add(24 * time.Hour).Format(time.RFC3339)}
	cases := []struct {
		name     string
		args     []string
		code     int
		contains []string
	}{
		{"replays", append([]string{"what-if", "--data", data}, period...), 0, []string{"Totals: 1 accounts replayed"}},
		{"unknown store", append([]string{"what-if", "--data", data, "--store", "mongodb"}, period...), 2, []string{"want sqlite, postgres or kurrentdb"}},
		{"help", []string{"what-if", "--help"}, 0, []string{"Flags (environment equivalent in brackets):", "[ACCOUNTD_STORE]", "[ACCOUNTD_LOCKOUT_THRESHOLD]", "the recorded policy's", "With the SQLite log the server must be stopped", "Examples:"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI(tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d:\n%s%s", code, tc.code, out, errs)
			}
			for _, want := range tc.contains {
				if !strings.Contains(out+errs, want) {
					t.Errorf("output lacks %q:\n%s%s", want, out, errs)
				}
			}
		})
	}
}

// what-if replays a log written to PostgreSQL, from the policy recorded there.
func TestWhatIfReadsPostgres(t *testing.T) {
	storeURL := postgresURL(t)
	store, err := postgres.Open(t.Context(), storeURL)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := writeLockoutLog(t, store)
	store.Close()
	tc := toolCase{args: []string{"--from", lockoutT0.Format(time.RFC3339), "--to", lockoutT0.Add(24 * time.Hour).Format(time.RFC3339)},
		env: []string{"ACCOUNTD_DATA=" + t.TempDir(), "ACCOUNTD_STORE=postgres", "ACCOUNTD_STORE_URL=" + storeURL}}
	if out := tc.run(t, runWhatIf); outcomeOf(out, id) != "unchanged" {
		t.Errorf("outcome %q, want unchanged (the recorded threshold of 3):\n%s", outcomeOf(out, id), out)
	}
}
