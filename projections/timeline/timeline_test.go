package timeline_test

import (
	"accountd/eventstore/eventlog"
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"accountd/domain"
	"accountd/eventstore"
	"accountd/projections"
	"accountd/projections/timeline"
)

func TestSearchFiltersPagesAndReplaysIdempotently(t *testing.T) {
	ctx := context.Background()
	db, err := projections.OpenDB(filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tl := timeline.New()
	for _, s := range tl.Schema() {
		if _, err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	tl.Load(ctx, db)
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	payloads := []struct {
		stream string
		data   domain.Payload
	}{
		{"account-a", domain.AccountRegistered{AccountID: "a", PropertyID: "lac"}},
		{"account-a", domain.SuspiciousActivityDetected{Rule: domain.RuleSharedAccount, Action: domain.ActionAccountDisabled, Evidence: domain.Evidence{Addresses: []string{"192.0.2.1", "192.0.2.2"}}, Notified: []string{"d@lac.example"}}},
		{"address-203.0.113.9", domain.AddressThrottled{IP: "203.0.113.9", Until: t0.Add(time.Hour), Rule: domain.RuleCredentialStuffing, Evidence: domain.Evidence{Addresses: []string{"203.0.113.9"}}}},
		{"detections-property-lac", domain.PropertyAttackDetected{PropertyID: "lac", Rule: domain.RulePasswordSpraying, Action: domain.ActionRecordedForReview}},
	}
	var evs []eventlog.Decoded
	for i, p := range payloads {
		evs = append(evs, eventlog.Decoded{Event: domain.Event{At: t0.Add(time.Duration(i) * time.Minute), Data: p.data},
			Recorded: eventstore.RecordedEvent{ID: uuid.New(), Stream: p.stream, Position: uint64(i + 1)}})
	}
	for range 2 { // the second pass is a replay over rows already written
		tx, _ := db.Begin()
		if _, err := tl.Apply(ctx, tx, evs); err != nil {
			t.Fatal(err)
		}
		tx.Commit()
	}
	tests := []struct {
		q    timeline.Query
		want string // rules, newest first
	}{
		{timeline.Query{}, "[password_spraying credential_stuffing shared_account]"},
		{timeline.Query{PropertyID: "lac"}, "[password_spraying shared_account]"},
		{timeline.Query{AccountID: "a"}, "[shared_account]"},
		{timeline.Query{IP: "::ffff:203.0.113.9"}, "[credential_stuffing]"},
		{timeline.Query{IP: "192.0.2.2"}, "[shared_account]"},
		{timeline.Query{Since: t0.Add(2 * time.Minute)}, "[password_spraying credential_stuffing]"},
		{timeline.Query{Until: t0.Add(2 * time.Minute)}, "[shared_account]"},
		{timeline.Query{Before: 3}, "[shared_account]"},
	}
	for _, tc := range tests {
		page, err := tl.Search(ctx, tc.q)
		if err != nil {
			t.Fatal(err)
		}
		var rules []string
		for _, e := range page.Entries {
			rules = append(rules, e.Rule)
		}
		if fmt.Sprint(rules) != tc.want {
			t.Errorf("%+v: %v, want %s", tc.q, rules, tc.want)
		}
	}
	page, _ := tl.Search(ctx, timeline.Query{Limit: 2})
	before, err := timeline.DecodeCursor(page.NextCursor)
	if err != nil || before != page.Entries[1].Position {
		t.Fatalf("cursor %q: %d %v", page.NextCursor, before, err)
	}
	for _, bad := range []string{"", "x", "dGwxOg", "dGwxOjA"} {
		if _, err := timeline.DecodeCursor(bad); err == nil {
			t.Errorf("cursor %q accepted", bad)
		}
	}
}
