package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"accountd/eventstore/sqlite"
)

// kindsAndTimes reads the log back: the count of each event type, and the sequence of
// (type, time) that a seed must reproduce.
func kindsAndTimes(t *testing.T, dir string) (map[string]int, []string) {
	t.Helper()
	store, err := sqlite.Open(filepath.Join(dir, "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	kinds := map[string]int{}
	var seq []string
	var after uint64
	for {
		recs, err := store.ReadAll(context.Background(), after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			return kinds, seq
		}
		for _, r := range recs {
			kinds[r.Type]++
			seq = append(seq, r.Type)
			after = r.Position
		}
	}
}

func TestDemoWritesARealisticHistory(t *testing.T) {
	end := time.Date(2026, 11, 20, 18, 0, 0, 0, time.UTC)
	run := func(dir string, seed uint64) string {
		c := demoConfig{properties: 2, accounts: 20, months: 2, seed: seed, logEvery: time.Hour, end: end}
		c.store = storeFlags{data: dir, sync: "normal", store: "sqlite"}
		var out, errs bytes.Buffer
		if err := demo(context.Background(), c, &out, &errs); err != nil {
			t.Fatalf("demo: %v\n%s", err, errs.String())
		}
		return out.String()
	}
	dir := t.TempDir()
	summary := run(dir, 7)
	kinds, seq := kindsAndTimes(t, dir)
	for _, kind := range []string{
		"policy_changed.v1", "property_created.v1", "account_registered.v1", "account_activated.v1",
		"login_succeeded.v1", "login_failed.v1", "login_rejected.v1", "unknown_email_login_failed.v1",
		"mfa_enrolment_started.v1", "mfa_enrolment_confirmed.v1", "mfa_enrolment_deferred.v1",
		"invoice_overdue.v1", "invoice_paid.v1", "password_changed.v1",
		// the three stories every size tells, the smallest too: a lockout, an expiry, a suspension
		"account_locked.v1", "property_access_suspended.v1",
	} {
		if kinds[kind] == 0 {
			t.Errorf("no %s in the demo log; kinds: %v", kind, kinds)
		}
	}
	for _, want := range []string{"Example accounts", "successful logins", "Mails:", "credential-stuffing", "lockouts", "password changes forced by expiry"} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, summary)
		}
	}
	if strings.Contains(summary, "  refused: ") {
		t.Errorf("a demo command was refused:\n%s", summary)
	}

	// The same seed writes the same sequence of events.
	again := t.TempDir()
	run(again, 7)
	if _, seq2 := kindsAndTimes(t, again); strings.Join(seq, ",") != strings.Join(seq2, ",") {
		t.Errorf("seed 7 wrote %d events, then %d in another order", len(seq), len(seq2))
	}
}
