package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"accountd/commands"
	"accountd/domain"
	"accountd/eventstore"
	"accountd/eventstore/eventlog"
	"accountd/projections/outbox"
)

// mailStory is a day of mail: two activations, a reset, a billing notice and an activation
// that bounces for good (dead-lettered).
func mailStory(t *testing.T, e *env) {
	t.Helper()
	e.createProperty(t, "p1", "Hôtel du Lac", "direction@hotel-lac.example", "compta@hotel-lac.example")
	e.register(t, "anna@hotel-lac.example", "p1")
	e.register(t, "luca@hotel-lac.example", "p1")
	e.register(t, "bounce@hotel-lac.example", "p1")
	if _, err := e.svc.RequestPasswordReset(e.ctx, commands.Meta{}, "anna@hotel-lac.example"); err != nil {
		t.Fatal(err)
	}
	for _, inv := range []string{"INV-1", "INV-2"} {
		if _, err := e.svc.Property(e.ctx, commands.Meta{}, "p1", domain.MarkInvoiceOverdue{InvoiceID: inv}); err != nil {
			t.Fatal(err)
		}
	}
}

func bouncing() *recorder {
	return &recorder{fail: func(m outbox.Message, _ int) error {
		if slices.Contains(m.To, "bounce@hotel-lac.example") {
			return fmt.Errorf("smtp RCPT TO: %w: 550 5.1.1 <bounce@hotel-lac.example>: mailbox unavailable", outbox.ErrPermanent)
		}
		return nil
	}}
}

// allMailRecords is every delivery record in the log.
func allMailRecords(t *testing.T, e *env) []eventlog.Decoded {
	t.Helper()
	recs, err := e.store.ReadAll(e.ctx, 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	var out []eventlog.Decoded
	for _, r := range recs {
		if !strings.HasPrefix(r.Stream, "mail-") {
			continue
		}
		d, err := eventlog.Decode(r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

// Losing readmodels.db (a new, empty database on the same log) sends nothing again: the
// records are in the log, the fold reads them back first, and it answers as before, dead
// letter included. The records hold no address.
func TestLostReadModelsSendNothingAgain(t *testing.T) {
	e := newEnv(t)
	mailStory(t, e)
	db := openDB(t, filepath.Join(t.TempDir(), "read.db"))
	first := bouncing()
	o := e.outbox(t, db, first, func(c *outbox.Config) { c.MaxAttempts = 3 })
	if err := o.CatchUp(e.ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(first.messages()); n != 4 {
		t.Fatalf("sent %d, want 4 (2 activations, a reset, a billing notice)", n)
	}
	records := allMailRecords(t, e)
	if len(records) != 5 {
		t.Fatalf("%d records in the log, want 5 (4 sent, 1 dead letter)", len(records))
	}
	for _, r := range records {
		raw, body, _ := domain.EncodePayload(r.Event.Data)
		if strings.Contains(string(body), "@") || strings.Contains(string(body), "token") {
			t.Errorf("%s record holds an address or a token: %s", raw, body)
		}
		if r.Meta.CausationID == "" {
			t.Errorf("%s record names no causing event", raw)
		}
	}
	head, _ := e.store.HeadPosition(e.ctx)
	if o.Position() != head {
		t.Fatalf("position %d, head %d: the outbox must pass its own records", o.Position(), head)
	}
	wantDead, err := o.DeadLetters(e.ctx)
	if err != nil || len(wantDead) != 1 || wantDead[0].Reason != domain.MailRejected || !strings.Contains(wantDead[0].LastError, "bounce@hotel-lac.example") {
		t.Fatalf("dead letters %+v, %v", wantDead, err)
	}

	for _, tc := range []struct {
		name  string
		reset func(t *testing.T) *sqlDB
	}{
		{"readmodels.db deleted", func(t *testing.T) *sqlDB { return openDB(t, filepath.Join(t.TempDir(), "read.db")) }},
		{"checkpoints lost", func(t *testing.T) *sqlDB { db.exec(t, `DELETE FROM checkpoints`); return db }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fresh := tc.reset(t)
			again := bouncing()
			o2 := e.outbox(t, fresh, again, func(c *outbox.Config) { c.MaxAttempts = 3 })
			if err := o2.CatchUp(e.ctx); err != nil {
				t.Fatal(err)
			}
			if n := len(again.messages()); n != 0 {
				t.Fatalf("sent %d again", n)
			}
			if n := len(allMailRecords(t, e)); n != 5 {
				t.Fatalf("%d records in the log after the replay, want 5", n)
			}
			if head, _ := e.store.HeadPosition(e.ctx); o2.Position() != head {
				t.Fatalf("position %d, head %d", o2.Position(), head)
			}
			// The same answers: every message delivered as before, the dead letter listed.
			for _, r := range records {
				id := r.Recorded.Stream[len("mail-"):]
				got, found, err := o2.Delivered(e.ctx, id)
				want, _, _ := o.Delivered(e.ctx, id)
				if err != nil || !found || got != want {
					t.Errorf("message %s: %+v (found %v, %v), want %+v", id, got, found, err, want)
				}
			}
			dead, err := o2.DeadLetters(e.ctx)
			if err != nil || len(dead) != 1 || dead[0].ID != wantDead[0].ID || dead[0].Reason != domain.MailRejected || dead[0].Attempts != 1 {
				t.Fatalf("dead letters after the replay %+v, %v", dead, err)
			}
			if tc.name == "readmodels.db deleted" && (strings.Contains(dead[0].LastError, "@") || !strings.Contains(dead[0].LastError, "550 5.1.1 <[address]>")) {
				t.Errorf("dead letter's error from the log = %q, want the reply without its address", dead[0].LastError)
			}
		})
	}
}

// Two outboxes on one log (two nodes both left with the outbox on, each with its own read
// models): run one after the other, each message is sent once in all; racing, each message
// is recorded once, the loser's conflict counts as done (no error, no dead letter) and both
// copies carry the same Message-ID.
func TestTwoOutboxesOnOneLog(t *testing.T) {
	t.Run("one after the other", func(t *testing.T) {
		e := newEnv(t)
		mailStory(t, e)
		a, b := bouncing(), bouncing()
		oa := e.outbox(t, openDB(t, filepath.Join(t.TempDir(), "a.db")), a)
		ob := e.outbox(t, openDB(t, filepath.Join(t.TempDir(), "b.db")), b)
		for round := range 2 {
			if err := oa.CatchUp(e.ctx); err != nil {
				t.Fatal(err)
			}
			if err := ob.CatchUp(e.ctx); err != nil {
				t.Fatal(err)
			}
			if round == 0 {
				e.register(t, "mia@hotel-lac.example", "p1")
			}
		}
		ids := map[string]int{}
		for _, m := range append(a.messages(), b.messages()...) {
			ids[m.ID]++
		}
		if len(ids) != 5 || len(b.messages()) != 0 {
			t.Fatalf("A sent %d, B sent %d, %d distinct; want 5 once each, all by A", len(a.messages()), len(b.messages()), len(ids))
		}
		if oa.Conflicts()+ob.Conflicts() != 0 {
			t.Errorf("conflicts %d and %d", oa.Conflicts(), ob.Conflicts())
		}
	})

	t.Run("racing", func(t *testing.T) {
		e := newEnv(t)
		e.register(t, "anna@hotel-lac.example", "")
		a := &recorder{}
		oa := e.outbox(t, openDB(t, filepath.Join(t.TempDir(), "a.db")), a)
		// B's send takes a second: meanwhile A sends the same message and records it.
		// (Records of the same instant are byte for byte the same append, which the store
		// takes as a retry; a second apart they conflict.)
		var once sync.Once
		b := &recorder{fail: func(outbox.Message, int) error {
			var err error
			once.Do(func() { err = oa.CatchUp(e.ctx); e.clock.Advance(time.Second) })
			return err
		}}
		ob := e.outbox(t, openDB(t, filepath.Join(t.TempDir(), "b.db")), b)
		if err := ob.CatchUp(e.ctx); err != nil {
			t.Fatalf("the outbox that lost the race failed: %v", err)
		}
		if len(a.messages()) != 1 || len(b.messages()) != 1 {
			t.Fatalf("A sent %d, B sent %d; want one each (the race)", len(a.messages()), len(b.messages()))
		}
		ma, mb := a.messages()[0], b.messages()[0]
		if outbox.MessageIDHeader(ma) != outbox.MessageIDHeader(mb) {
			t.Errorf("Message-IDs %s and %s: a receiver cannot drop the duplicate", outbox.MessageIDHeader(ma), outbox.MessageIDHeader(mb))
		}
		if recs := mailRecords(t, e, ma.ID); len(recs) != 1 {
			t.Fatalf("%d records of the message, want 1", len(recs))
		}
		if ob.Conflicts() != 1 || oa.Conflicts() != 0 {
			t.Errorf("conflicts A %d, B %d; want B 1", oa.Conflicts(), ob.Conflicts())
		}
		if dead, _ := ob.DeadLetters(e.ctx); len(dead) != 0 {
			t.Errorf("the conflict was dead-lettered: %+v", dead)
		}
		d, found, err := ob.Delivered(e.ctx, ma.ID)
		if err != nil || !found || d.Outcome != outbox.OutcomeSent {
			t.Errorf("B's fold after the conflict: %+v %v %v", d, found, err)
		}
		head, _ := e.store.HeadPosition(e.ctx)
		if ob.Position() != head {
			t.Errorf("B at %d, head %d", ob.Position(), head)
		}
	})
}

// flakyRecorder fails the first appends as an unavailable store would.
type flakyRecorder struct {
	store eventstore.Store
	mu    sync.Mutex
	fails int
}

func (f *flakyRecorder) Append(ctx context.Context, stream string, exp eventstore.ExpectedRevision, evs ...eventstore.EventData) (eventstore.AppendResult, error) {
	f.mu.Lock()
	fail := f.fails > 0
	f.fails--
	f.mu.Unlock()
	if fail {
		return eventstore.AppendResult{}, errors.New("disk I/O error")
	}
	return f.store.Append(ctx, stream, exp, evs...)
}

// A record that cannot be appended (the store unavailable for a while) is retried until it
// lands; the mail is not sent again meanwhile.
func TestRecordIsRetriedNotResent(t *testing.T) {
	e := newEnv(t)
	e.register(t, "anna@hotel-lac.example", "")
	sent := &recorder{}
	o := e.outbox(t, openDB(t, filepath.Join(t.TempDir(), "read.db")), sent, func(c *outbox.Config) {
		c.Recorder = &flakyRecorder{store: e.store, fails: 3}
	})
	if err := o.CatchUp(e.ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(sent.messages()); n != 1 {
		t.Fatalf("sent %d, want 1", n)
	}
	if recs := mailRecords(t, e, sent.messages()[0].ID); len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	if !strings.Contains(e.logs.String(), "could not record a delivery") {
		t.Error("the failed appends were not logged")
	}
}

// The upgrade: a readmodels.db of the release before kept its record in outbox_sent and
// outbox_dead_letters. The first batch records the rows the horizon can reach in the log
// (once, marked migrated) and drops outbox_sent; nothing is re-sent then, nor after losing
// readmodels.db later. Older rows are not recorded (their mail is stale anyway).
func TestUpgradeRecordsFormerTablesInTheLog(t *testing.T) {
	e := newEnv(t)
	e.register(t, "old@hotel-lac.example", "")
	e.clock.Advance(4 * 24 * time.Hour)
	e.register(t, "anna@hotel-lac.example", "")
	e.register(t, "bounce@hotel-lac.example", "")
	e.clock.Advance(time.Hour)
	recs, err := e.store.ReadAll(e.ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var activations []eventstore.RecordedEvent
	for _, r := range recs {
		if r.Type == (domain.ActivationLinkIssued{}).EventType() {
			activations = append(activations, r)
		}
	}
	if len(activations) != 3 {
		t.Fatalf("%d activations", len(activations))
	}
	head, _ := e.store.HeadPosition(e.ctx)

	// The former release's database: caught up, its record in its own tables.
	db := openDB(t, filepath.Join(t.TempDir(), "read.db"))
	e.outbox(t, db, &recorder{})                                                        // today's schema (the address tables)...
	db.exec(t, `CREATE TABLE outbox_sent (id TEXT PRIMARY KEY, sent_at TEXT NOT NULL)`) // ...and the former one
	at := func(d time.Duration) string { return e.clock.Now().Add(-d).UTC().Format(time.RFC3339Nano) }
	db.exec(t, `INSERT INTO outbox_sent(id, sent_at) VALUES(?, ?), (?, ?)`,
		activations[0].ID.String(), at(4*24*time.Hour), activations[1].ID.String(), at(time.Hour))
	db.exec(t, `INSERT INTO outbox_dead_letters(id, position, event_type, kind, account_id, recipients, subject, attempts, last_error, dead_at)
		VALUES(?, ?, ?, 'activation', 'acc', '["bounce@hotel-lac.example"]', 'Activate', 8, '550 <bounce@hotel-lac.example> unknown', ?)`,
		activations[2].ID.String(), activations[2].Position, activations[2].Type, at(time.Hour))
	db.exec(t, `INSERT INTO checkpoints(name, position) VALUES(?, ?)`, outbox.CheckpointName, head)

	for run := range 2 { // the second start migrates nothing more
		sent := &recorder{}
		o := e.outbox(t, db, sent)
		e.register(t, "new"+string(rune('a'+run))+"@hotel-lac.example", "") // mail after the upgrade
		if err := o.CatchUp(e.ctx); err != nil {
			t.Fatal(err)
		}
		if n := len(sent.messages()); n != 1 {
			t.Fatalf("run %d sent %d, want the new activation only", run, n)
		}
	}
	var legacy int
	db.queryRow(t, `SELECT count(*) FROM sqlite_master WHERE name = 'outbox_sent'`).Scan(&legacy)
	if legacy != 0 {
		t.Error("outbox_sent was not dropped")
	}
	if r := mailRecords(t, e, activations[0].ID.String()); len(r) != 0 {
		t.Errorf("a row older than the horizon was recorded: %v", r)
	}
	got := map[string]domain.Payload{}
	for _, d := range allMailRecords(t, e) {
		got[d.Recorded.Stream] = d.Event.Data
	}
	sentRec, ok := got[domain.MailStream(activations[1].ID.String())].(domain.MailSent)
	if !ok || !sentRec.Migrated || sentRec.CauseID != activations[1].ID.String() {
		t.Errorf("migrated sent record %+v", got[domain.MailStream(activations[1].ID.String())])
	}
	deadRec, ok := got[domain.MailStream(activations[2].ID.String())].(domain.MailDeadLettered)
	if !ok || !deadRec.Migrated || deadRec.Reason != domain.MailAttemptsExhausted || deadRec.CausePosition != activations[2].Position ||
		strings.Contains(deadRec.Detail, "@") {
		t.Errorf("migrated dead letter %+v", got[domain.MailStream(activations[2].ID.String())])
	}
	if len(got) != 4 {
		t.Errorf("%d records, want 2 migrated and the 2 new activations", len(got))
	}

	// Later, readmodels.db is lost: nothing is sent again, the old mail is stale as before.
	lost := &recorder{}
	o := e.outbox(t, openDB(t, filepath.Join(t.TempDir(), "read.db")), lost)
	if err := o.CatchUp(e.ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(lost.messages()); n != 0 {
		t.Fatalf("sent %d after losing the upgraded read models", n)
	}
	if o.Stale() != 1 {
		t.Errorf("stale %d, want 1 (the old activation)", o.Stale())
	}
}
