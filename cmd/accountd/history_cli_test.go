package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"accountd/commands"
	"accountd/domain"
	"accountd/eventstore"
	"accountd/eventstore/postgres"
	"accountd/eventstore/postgres/postgrestest"
	"accountd/eventstore/sqlite"
)

// lockoutT0 is when writeLockoutLog starts; the three wrong passwords follow an hour later.
var lockoutT0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// lockoutPolicy is the non-default policy writeLockoutLog records, as serve records its
// configured policy at start: three failures lock, and the lock lifts by itself after 30
// minutes (the default: six failures, locked until identity is confirmed).
func lockoutPolicy() domain.Policy {
	p := domain.DefaultPolicy()
	p.LockoutThreshold = 3
	p.LockoutDuration = domain.Duration(30 * time.Minute)
	p.MFARequired = false
	return p
}

// writeLockoutLog records lockoutPolicy, one property and one active account, then three
// wrong passwords that lock it under that policy (they would not under the default). It
// returns the account and when it locked.
func writeLockoutLog(t *testing.T, store eventstore.Store) (accountID string, lockedAt time.Time) {
	t.Helper()
	ctx := context.Background()
	now := lockoutT0
	clock := func() time.Time { return now }
	svc, _ := serviceUnderPolicy(t, store, clock, lockoutPolicy())
	m := commands.Meta{}
	reg, err := svc.Register(ctx, m, commands.Registration{Email: "anna@lac.example", Password: "Correct horse battery 42", PropertyID: "lac"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Activate(ctx, m, reg.ActivationToken); err != nil {
		t.Fatal(err)
	}
	var last commands.LoginResult
	for i := range 3 {
		now = lockoutT0.Add(time.Hour + time.Duration(i)*time.Minute)
		if last, err = svc.Login(ctx, m, commands.LoginAttempt{Email: "anna@lac.example", Password: "wrong password", Origin: domain.Origin{IP: "203.0.113.7"}}); err != nil {
			t.Fatal(err)
		}
	}
	if last.UnlockToken == "" {
		t.Fatalf("the third wrong password did not lock the account under the recorded policy: %+v", last.LoginOutcome)
	}
	return reg.AccountID, now
}

// sqliteLockoutLog writes the lockout history into data/events.db.
func sqliteLockoutLog(t *testing.T, data string) (string, time.Time) {
	t.Helper()
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(filepath.Join(data, "events.db"), sqlite.WithSynchronous(sqlite.Normal))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	return writeLockoutLog(t, store)
}

// postgresURL is ACCOUNTD_TEST_POSTGRES_URL with a schema of the test's own, dropped when the
// test ends; the test is skipped when the variable is absent.
func postgresURL(t *testing.T) string {
	t.Helper()
	return postgrestest.SchemaURL(t, "accountd_cli")
}

// toolCase is one run of an offline tool through its environment-taking entry point.
type toolCase struct {
	name     string
	args     []string
	env      []string
	usage    bool     // want a usage error (exit 2)
	fail     string   // want another error containing this (exit 1)
	contains []string // in stdout + stderr + the error
	lacks    []string
	rows     map[string]string // rows of history --at's output and their values
}

func (tc toolCase) run(t *testing.T, tool func(args, environ []string, stdout, stderr io.Writer) error) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := tool(tc.args, tc.env, &stdout, &stderr)
	out := stdout.String() + stderr.String()
	if err != nil {
		out += "\nerror: " + err.Error()
	}
	isUsage := errors.As(err, new(usageError))
	switch {
	case tc.usage && !isUsage:
		t.Fatalf("want a usage error, got %v:\n%s", err, out)
	case tc.fail != "" && (err == nil || isUsage || !strings.Contains(err.Error(), tc.fail)):
		t.Fatalf("want an error containing %q, got %v:\n%s", tc.fail, err, out)
	case !tc.usage && tc.fail == "" && err != nil:
		t.Fatalf("unexpected error %v:\n%s", err, out)
	}
	for _, want := range tc.contains {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, bad := range tc.lacks {
		if strings.Contains(out, bad) {
			t.Errorf("output has %q:\n%s", bad, out)
		}
	}
	for key, want := range tc.rows {
		if got := stateRow(out, key); got != want {
			t.Errorf("%s %q, want %q:\n%s", key, got, want, out)
		}
	}
	return out
}

// stateRow is the value of one row of history --at's output ("locked  false").
func stateRow(out, key string) string {
	for line := range strings.SplitSeq(out, "\n") {
		if rest, ok := strings.CutPrefix(line, key+"  "); ok {
			return strings.TrimSpace(rest)
		}
	}
	return ""
}

// history reads the log through the same flags and ACCOUNTD_ variables as serve, and
// refuses what serve refuses.
func TestHistoryStoreFlagsAndEnvironment(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	id, _ := sqliteLockoutLog(t, data)
	empty := t.TempDir()
	timeline := []string{"REV", "account_registered", "login_failed", "account_locked", "203.0.113.7"}
	cases := []toolCase{
		{name: "flags", args: []string{"--data", data, "--account", id}, contains: timeline},
		{name: "flags after --account", args: []string{"--account", id, "--data", data, "--store", "sqlite", "--sync", "normal"}, contains: timeline},
		{name: "environment", args: []string{"--account", id}, env: []string{"ACCOUNTD_DATA=" + data}, contains: timeline},
		{name: "everything from the environment", env: []string{"ACCOUNTD_DATA=" + data, "ACCOUNTD_ACCOUNT=" + id, "ACCOUNTD_STORE=sqlite"}, contains: timeline},
		{name: "a flag wins over the environment", args: []string{"--data", data, "--account", id}, env: []string{"ACCOUNTD_DATA=" + empty}, contains: timeline},
		{name: "no log", args: []string{"--data", empty, "--account", id}, fail: "no event log"},
		{name: "no log from the environment", args: []string{"--account", id}, env: []string{"ACCOUNTD_DATA=" + empty}, fail: "no event log"},
		{name: "unknown --store", args: []string{"--data", data, "--account", id, "--store", "mongodb"}, usage: true, contains: []string{`--store "mongodb": want sqlite, postgres or kurrentdb`}},
		{name: "unknown ACCOUNTD_STORE", args: []string{"--data", data, "--account", id}, env: []string{"ACCOUNTD_STORE=mongodb"}, usage: true, contains: []string{`--store "mongodb"`}},
		{name: "postgres without a URL", args: []string{"--account", id, "--store", "postgres"}, usage: true, contains: []string{"--store postgres needs --store-url"}},
		{name: "a URL for sqlite", args: []string{"--data", data, "--account", id, "--store-url", "postgres://db.example/x"}, usage: true, contains: []string{"--store-url is only for"}},
		{name: "bad sync", args: []string{"--data", data, "--account", id, "--sync", "sometimes"}, usage: true, contains: []string{`--sync "sometimes"`}},
		{name: "bad environment value", args: []string{"--data", data}, env: []string{"ACCOUNTD_AT=yesterday", "ACCOUNTD_ACCOUNT=" + id}, usage: true, contains: []string{`--at "yesterday"`}},
		{name: "no account", args: []string{"--data", data}, usage: true, contains: []string{"--account is required"}},
		{name: "stray argument", args: []string{"--data", data, "--account", id, "now"}, usage: true, contains: []string{`unexpected argument "now"`}},
		{name: "unknown account", args: []string{"--data", data, "--account", "no-such-account"}, fail: "account_not_found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, runHistory) })
	}
}

// Through the command dispatcher: exit codes and --help.
func TestHistoryCommandExitCodesAndHelp(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	id, _ := sqliteLockoutLog(t, data)
	cases := []struct {
		name     string
		args     []string
		code     int
		contains []string
	}{
		{"reads the log", []string{"history", "--data", data, "--account", id}, 0, []string{"account_locked"}},
		{"unknown store", []string{"history", "--data", data, "--account", id, "--store", "mongodb"}, 2, []string{"want sqlite, postgres or kurrentdb"}},
		{"help", []string{"history", "--help"}, 0, []string{"Flags (environment equivalent in brackets):", "[ACCOUNTD_DATA]", "[ACCOUNTD_STORE_URL]", "[ACCOUNTD_ACCOUNT]", "With the SQLite log the server must be stopped", "Examples:"}},
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

// Status is evaluated under the policy the server recorded in the log: with its 30-minute
// timed unlock the account is active again an hour after the lock, where the default policy
// (locked until identity is confirmed) would still call it locked.
func TestHistoryEvaluatesUnderTheRecordedPolicy(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	id, lockedAt := sqliteLockoutLog(t, data)
	at := func(d time.Duration) []string {
		return []string{"--data", data, "--account", id, "--at", lockedAt.Add(d).Format(time.RFC3339)}
	}
	cases := []toolCase{
		{name: "just after the third failure", args: at(time.Minute),
			rows: map[string]string{"status": "locked (account_locked)", "locked": "true", "failed attempts": "3"}},
		{name: "after the recorded lockout duration", args: at(time.Hour),
			rows: map[string]string{"status": "active", "locked": "false", "failed attempts": "3"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, runHistory) })
	}
}

// history reads a log written to PostgreSQL, through flags and through the environment, and
// evaluates under the policy recorded there.
func TestHistoryReadsPostgres(t *testing.T) {
	storeURL := postgresURL(t)
	store, err := postgres.Open(t.Context(), storeURL)
	if err != nil {
		t.Fatal(err)
	}
	id, lockedAt := writeLockoutLog(t, store)
	store.Close()
	noData := t.TempDir() // no events.db: everything must come from PostgreSQL
	at := lockedAt.Add(time.Hour).Format(time.RFC3339)
	cases := []toolCase{
		{name: "flags", args: []string{"--data", noData, "--store", "postgres", "--store-url", storeURL, "--account", id},
			contains: []string{"account_registered", "login_failed", "account_locked"}},
		{name: "environment", args: []string{"--account", id},
			env:      []string{"ACCOUNTD_DATA=" + noData, "ACCOUNTD_STORE=postgres", "ACCOUNTD_STORE_URL=" + storeURL},
			contains: []string{"account_locked"}},
		// An hour after the lock, active: the 30-minute timed unlock recorded in PostgreSQL.
		{name: "state under the recorded policy", args: []string{"--data", noData, "--store", "postgres", "--store-url", storeURL, "--account", id, "--at", at},
			rows: map[string]string{"email": "anna@lac.example", "status": "active", "locked": "false"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, runHistory) })
	}
}
