package serve_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"accountd/domain"
	"accountd/eventstore/sqlite"
	"accountd/http/api"
	"accountd/http/serve"
)

// restartAfter stops the server, runs offline (what an operator does to the stopped node's
// data directory), and starts a new server on the same directory; the clock carries on.
func (e *env) restartAfter(offline func()) {
	e.t.Helper()
	e.ts.Close()
	if err := e.srv.Close(); err != nil {
		e.t.Fatal(err)
	}
	offline()
	srv, err := serve.New(context.Background(), serve.Config{
		DataDir: e.data, Policy: testPolicy(nil), Sync: sqlite.Normal, Argon2: cheapArgon2(), Clock: e.clock.Now,
		Logger: testLogger(e.t), StatusWait: 300 * time.Millisecond,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	srv.Start(context.Background())
	e.srv, e.ts = srv, httptest.NewServer(srv.Handler())
	e.t.Cleanup(func() { e.ts.Close(); srv.Close() })
}

// outboxSettled waits until the read models and the outbox have applied the log's head (the
// outbox's own delivery records included): whatever mail was due has gone by then.
func (e *env) outboxSettled() {
	e.t.Helper()
	e.settled()
	e.eventually("the outbox at the log's head", func() bool {
		head, err := e.srv.Store().HeadPosition(context.Background())
		return err == nil && e.srv.Outbox().Position() >= head
	})
}

// The operator: the read models are disposable, so they delete readmodels.db* and
// restart. Every mail of the last hours had gone out (activations, a reset, an unlock link,
// a billing notice) and was picked up from DATA/outbox; after the restart, with the read
// models rebuilt from the log and the outbox back at the head, not one mail goes out again,
// because the record of each delivery is in the log (mail-<message ID> streams).
func TestDeletingReadModelsSendsNoMailAgain(t *testing.T) {
	e := newEnv(t, nil)
	prop := e.createProperty("Lago")
	e.must(e.post("/v1/properties/"+prop+"/billing-contacts", api.RoleAdmin, map[string]string{"email": "conti@lago.example"}), http.StatusOK)
	for _, who := range []string{"elena", "marco", "giulia"} {
		addr := who + "@lago.example"
		e.register(addr, prop)
		e.must(e.post("/v1/activations", api.RoleLoginService, map[string]string{"token": e.mail.link(addr, "activation")}), http.StatusOK)
	}
	e.clock.Advance(time.Hour)
	e.must(e.post("/v1/password-reset-requests", api.RoleLoginService, map[string]string{"email": "marco@lago.example"}), http.StatusAccepted)
	e.mail.next("marco@lago.example", "password_reset")
	for range 6 {
		e.login("elena@lago.example", "not her password")
	}
	e.mail.next("elena@lago.example", "unlock")
	for _, inv := range []string{"INV-1", "INV-2"} {
		e.must(e.post("/v1/properties/"+prop+"/invoices/"+inv+"/overdue", api.RoleAdmin, nil), http.StatusOK)
	}
	e.mail.next("conti@lago.example", "billing_suspended")
	e.outboxSettled()
	delivered := e.mail.read()
	if len(delivered) != 6 {
		t.Fatalf("%d mails before the restart, want 6 (3 activations, a reset, an unlock link, a billing notice)", len(delivered))
	}
	head, _ := e.srv.Store().HeadPosition(context.Background())
	recorded := 0
	for _, m := range delivered {
		recorded += len(e.mailRecords(m.messageID()))
	}
	if recorded != len(delivered) {
		t.Fatalf("%d delivery records in the log for %d mails", recorded, len(delivered))
	}

	e.clock.Advance(2 * time.Hour) // well within the 72-hour mail horizon
	e.restartAfter(func() {
		// The MTA has taken the mails away; the operator deletes the read models.
		for _, m := range delivered {
			if err := os.Remove(filepath.Join(e.mail.dir, m.file)); err != nil {
				t.Fatal(err)
			}
		}
		files, _ := filepath.Glob(filepath.Join(e.data, "readmodels.db*"))
		if len(files) == 0 {
			t.Fatal("no readmodels.db to delete")
		}
		for _, f := range files {
			if err := os.Remove(f); err != nil {
				t.Fatal(err)
			}
		}
	})
	e.outboxSettled()
	if again := e.mail.read(); len(again) != 0 {
		t.Fatalf("%d mails sent again after deleting readmodels.db (first: %s to %s)", len(again), again[0].kind, again[0].to)
	}
	if now, _ := e.srv.Store().HeadPosition(context.Background()); now != head {
		t.Errorf("the log grew from %d to %d across the restart: something was recorded again", head, now)
	}
	// The rebuilt read models answer: the accounts are there.
	e.login("giulia@lago.example", goodPassword)
}

// messageID is the outbox message a mail file carries (<yyyymmdd>-<ID>.eml).
func (m email) messageID() string { return m.file[len("20060102-") : len(m.file)-len(".eml")] }

// mailRecords lists the types of the log's delivery records of a message.
func (e *env) mailRecords(messageID string) []string {
	e.t.Helper()
	recs, err := e.srv.Store().ReadStream(context.Background(), domain.MailStream(messageID), 0, 10)
	if err != nil {
		return nil
	}
	var types []string
	for _, r := range recs {
		types = append(types, r.Type)
	}
	return types
}
