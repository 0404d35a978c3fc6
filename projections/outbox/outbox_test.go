package outbox_test

import (
	"accountd/eventstore/eventlog"
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"accountd/commands"
	"accountd/domain"
	"accountd/domain/credentials"
	"accountd/eventstore"
	"accountd/eventstore/memory"
	"accountd/projections"
	"accountd/projections/outbox"
)

const (
	publicURL = "https://login.hotel.example"
	sender    = "Hotel Login <no-reply@login.hotel.example>"
)

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *testClock) Advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.now = c.now.Add(d) }

// env is a log, a command service and a read-model database sharing one link key.
type env struct {
	ctx   context.Context
	store *memory.Store
	clock *testClock
	svc   *commands.Service
	links *credentials.LinkKey
	dir   string      // the file mailer's directory
	logs  *syncBuffer // what the outboxes logged
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newEnv(t *testing.T) *env {
	t.Helper()
	clock := &testClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	store := memory.New(memory.WithClock(clock.Now))
	key := make([]byte, 32)
	rand.Read(key)
	links, err := credentials.NewLinkKey(key)
	if err != nil {
		t.Fatal(err)
	}
	mfa, err := credentials.NewMFA(key, "accountd-test")
	if err != nil {
		t.Fatal(err)
	}
	hasher, err := credentials.NewHasher(credentials.Argon2Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := commands.NewService(commands.Config{
		Store: store, Clock: clock.Now, Policy: domain.DefaultPolicy, Hasher: hasher, MFA: mfa, Links: links,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &env{ctx: context.Background(), store: store, clock: clock, svc: svc, links: links, dir: filepath.Join(t.TempDir(), "mail"), logs: &syncBuffer{}}
}

// openDB opens the read-model database at a fixed path of the test, so a "restart" reopens it.
func openDB(t *testing.T, path string) *sqlDB {
	t.Helper()
	db, err := projections.OpenDB(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &sqlDB{DB: db}
}

func (e *env) outbox(t *testing.T, db *sqlDB, m outbox.Mailer, tweak ...func(*outbox.Config)) *outbox.Outbox {
	t.Helper()
	cfg := outbox.Config{
		Store: e.store, DB: db.DB, Links: e.links, Mailer: m, PublicURL: publicURL, From: sender,
		Clock: e.clock.Now, RetryBackoff: time.Millisecond, RetryBackoffMax: 4 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(e.logs, nil)),
	}
	for _, f := range tweak {
		f(&cfg)
	}
	o, err := outbox.New(e.ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func (e *env) fileMailer(t *testing.T) *outbox.FileMailer {
	t.Helper()
	fm, err := outbox.NewFileMailer(e.dir)
	if err != nil {
		t.Fatal(err)
	}
	return fm
}

func (e *env) register(t *testing.T, email, propertyID string) commands.Registered {
	t.Helper()
	reg, err := e.svc.Register(e.ctx, commands.Meta{}, commands.Registration{Email: email, Password: "Correct horse battery 42", PropertyID: propertyID})
	if err != nil {
		t.Fatalf("register %s: %v", email, err)
	}
	return reg
}

func (e *env) createProperty(t *testing.T, id, name, primary string, billing ...string) {
	t.Helper()
	if _, err := e.svc.Property(e.ctx, commands.Meta{}, id, domain.CreateProperty{PropertyID: id, Name: name, PrimaryContactEmail: primary}); err != nil {
		t.Fatal(err)
	}
	for _, b := range billing {
		if _, err := e.svc.Property(e.ctx, commands.Meta{}, id, domain.AddBillingContact{Email: b}); err != nil {
			t.Fatal(err)
		}
	}
}

// recorder keeps every message handed to it, optionally failing some, and passes the others on.
type recorder struct {
	mu    sync.Mutex
	next  outbox.Mailer
	fail  func(m outbox.Message, attempt int) error
	tries map[string]int
	sent  []outbox.Message
}

func (r *recorder) Send(ctx context.Context, m outbox.Message) error {
	r.mu.Lock()
	if r.tries == nil {
		r.tries = map[string]int{}
	}
	r.tries[m.ID]++
	n := r.tries[m.ID]
	r.mu.Unlock()
	if r.fail != nil {
		if err := r.fail(m, n); err != nil {
			return err
		}
	}
	if r.next != nil {
		if err := r.next.Send(ctx, m); err != nil {
			return err
		}
	}
	r.mu.Lock()
	r.sent = append(r.sent, m)
	r.mu.Unlock()
	return nil
}

func (r *recorder) messages() []outbox.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.sent)
}

func (r *recorder) ofKind(kind string) []outbox.Message {
	var out []outbox.Message
	for _, m := range r.messages() {
		if m.Kind == kind {
			out = append(out, m)
		}
	}
	return out
}

// eml is a written mail, parsed back.
type eml struct {
	path   string
	header mail.Header
	body   string // decoded from quoted-printable
	raw    []byte
}

func readEMLs(t *testing.T, dir string) []eml {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	var out []eml
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s is not an RFC 5322 message: %v", p, err)
		}
		if cte := msg.Header.Get("Content-Transfer-Encoding"); cte != "quoted-printable" {
			t.Fatalf("%s: Content-Transfer-Encoding %q", p, cte)
		}
		body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
		if err != nil {
			t.Fatalf("%s: body: %v", p, err)
		}
		out = append(out, eml{path: p, header: msg.Header, body: string(body), raw: raw})
	}
	return out
}

func mailOfKind(t *testing.T, mails []eml, kind string) eml {
	t.Helper()
	var found []eml
	for _, m := range mails {
		if m.header.Get("X-Accountd-Kind") == kind {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d %s mails, want 1", len(found), kind)
	}
	return found[0]
}

// linkToken takes the token out of the first link to path in a mail body.
func linkToken(t *testing.T, body, path string) string {
	t.Helper()
	prefix := publicURL + path + "?token="
	i := strings.Index(body, prefix)
	if i < 0 {
		t.Fatalf("no %s link in:\n%s", path, body)
	}
	rest := body[i+len(prefix):]
	if j := strings.IndexAny(rest, " \r\n"); j >= 0 {
		rest = rest[:j]
	}
	token, err := url.QueryUnescape(rest)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

func decodeSubject(t *testing.T, s string) string {
	t.Helper()
	out, err := new(mime.WordDecoder).DecodeHeader(s)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The whole path of a reset link: the command logs a nonce, the outbox derives the token and
// writes the mail, and the token read back from the .eml file is the one the service accepts.
func TestResetLinkFromMailIsAcceptedByTheService(t *testing.T) {
	e := newEnv(t)
	db := openDB(t, filepath.Join(t.TempDir(), "read.db"))
	o := e.outbox(t, db, e.fileMailer(t))

	reg := e.register(t, "anna@hotel-lac.example", "")
	reset, err := e.svc.RequestPasswordReset(e.ctx, commands.Meta{}, "anna@hotel-lac.example")
	if err != nil || reset.Token == "" {
		t.Fatalf("reset request: %+v, %v", reset, err)
	}
	if err := o.CatchUp(e.ctx); err != nil {
		t.Fatal(err)
	}
	head, _ := e.store.HeadPosition(e.ctx)
	if o.Position() != head {
		t.Fatalf("position %d, head %d", o.Position(), head)
	}

	mails := readEMLs(t, e.dir)
	if len(mails) != 2 {
		t.Fatalf("%d mails, want activation and reset", len(mails))
	}
	m := mailOfKind(t, mails, outbox.KindPasswordReset)
	if to := m.header.Get("To"); to != "<anna@hotel-lac.example>" {
		t.Errorf("To = %q", to)
	}
	subject := decodeSubject(t, m.header.Get("Subject"))
	for _, want := range []string{"Reset your password", "Réinitialisation de votre mot de passe", "Reimpostazione della password"} {
		if !strings.Contains(subject, want) {
			t.Errorf("subject %q lacks %q", subject, want)
		}
	}
	flat := strings.Join(strings.Fields(m.body), " ") // unwrapped, no-break spaces as spaces
	for _, want := range []string{"valid for 24 hours", "valable 24 heures", "valido 24 ore", "Only the most recent link works", "tout dernier e-mail", "3 March 2026 at 09:00 UTC", "3 mars 2026 à 09:00 UTC", "3 marzo 2026 alle 09:00 UTC"} {
		if !strings.Contains(flat, want) {
			t.Errorf("body lacks %q:\n%s", want, m.body)
		}
	}

	// The file is named by the event: <day of the event>-<event ID>.eml, private.
	recs, err := e.store.ReadAll(e.ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var resetEvent eventstore.RecordedEvent
	for _, r := range recs {
		if r.Type == (domain.PasswordResetRequested{}).EventType() {
			resetEvent = r
		}
	}
	if want := "20260302-" + resetEvent.ID.String() + ".eml"; filepath.Base(m.path) != want {
		t.Errorf("file %s, want %s", filepath.Base(m.path), want)
	}
	if fi, err := os.Stat(m.path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	if got, want := m.header.Get("Message-Id"), "<"+resetEvent.ID.String()+".outbox@login.hotel.example>"; got != want {
		t.Errorf("Message-ID %q, want %q", got, want)
	}
	for _, each := range mails {
		for _, line := range bytes.Split(each.raw, []byte("\r\n")) {
			// RFC 5322 asks 78 where it can; a URL has no space to fold at, so its header
			// may run to the hard limit of 998.
			if len(line) > 78 && !(bytes.HasPrefix(line, []byte("X-Accountd-Link: ")) && len(line) <= 998) {
				t.Errorf("%s: line longer than 78 octets: %q", filepath.Base(each.path), line)
			}
		}
	}

	token := linkToken(t, m.body, "/reset-password")
	if token != reset.Token {
		t.Fatalf("mailed token differs from the issued one")
	}
	if _, err := e.svc.ResetPassword(e.ctx, commands.Meta{}, token, "New long passphrase 9"); err != nil {
		t.Fatalf("the service refused the mailed reset token: %v", err)
	}
	// The activation mail's token works too.
	act := mailOfKind(t, mails, outbox.KindActivation)
	if tok := linkToken(t, act.body, "/activate"); tok != reg.ActivationToken {
		t.Fatalf("mailed activation token differs from the issued one")
	} else if _, err := e.svc.Activate(e.ctx, commands.Meta{}, tok); err != nil {
		t.Fatalf("the service refused the mailed activation token: %v", err)
	}
}

// The log holds nonces and token hashes only; the read-model database holds no token either.
func TestNeitherLogNorDatabaseHoldsAToken(t *testing.T) {
	e := newEnv(t)
	db := openDB(t, filepath.Join(t.TempDir(), "read.db"))
	rec := &recorder{}
	o := e.outbox(t, db, rec)
	e.register(t, "marco@albergo.example", "")
	if _, err := e.svc.RequestPasswordReset(e.ctx, commands.Meta{}, "marco@albergo.example"); err != nil {
		t.Fatal(err)
	}
	for range 6 { // lock the account: the lock issues an unlock link
		if _, err := e.svc.Login(e.ctx, commands.Meta{}, commands.LoginAttempt{Email: "marco@albergo.example", Password: "wrong guess"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := o.CatchUp(e.ctx); err != nil {
		t.Fatal(err)
	}
	var tokens []string
	for _, m := range rec.messages() {
		if m.Link != "" {
			u, err := url.Parse(m.Link)
			if err != nil {
				t.Fatal(err)
			}
			tokens = append(tokens, u.Query().Get("token"))
		}
	}
	if len(tokens) != 3 {
		t.Fatalf("%d link mails, want activation, reset and unlock", len(tokens))
	}
	recs, err := e.store.ReadAll(e.ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	dbText := db.dump(t)
	for _, tok := range tokens {
		_, secret, _ := strings.Cut(tok, ".")
		if len(secret) != 43 {
			t.Fatalf("token %q has no 43-character secret", tok)
		}
		for _, r := range recs {
			if bytes.Contains(r.Data, []byte(secret)) || bytes.Contains(r.Metadata, []byte(secret)) {
				t.Fatalf("event %s at %d holds a link token", r.Type, r.Position)
			}
		}
		if strings.Contains(dbText, secret) {
			t.Fatal("the read-model database holds a link token")
		}
	}
	unlock := rec.ofKind(outbox.KindUnlock)
	if len(unlock) != 1 {
		t.Fatalf("%d unlock mails", len(unlock))
	}
	u, _ := url.Parse(unlock[0].Link)
	if u.Path != "/unlock" {
		t.Errorf("unlock link path %q", u.Path)
	}
	if _, err := e.svc.Unlock(e.ctx, commands.Meta{}, u.Query().Get("token")); err != nil {
		t.Fatalf("the service refused the mailed unlock token: %v", err)
	}
}

// Losing the checkpoint replays the log: nothing already sent is sent again. A crash between
// a send and its record in the log re-sends that one message, once, as the same mail: the
// file mailer keeps one file per message, and the Message-ID header is the same.
func TestReplayDoesNotDuplicateMail(t *testing.T) {
	e := newEnv(t)
	dbPath := filepath.Join(t.TempDir(), "read.db")
	db := openDB(t, dbPath)
	first := &recorder{next: e.fileMailer(t)}
	o := e.outbox(t, db, first)
	e.createProperty(t, "p1", "Hôtel du Lac", "direction@hotel-lac.example", "compta@hotel-lac.example")
	e.register(t, "anna@hotel-lac.example", "p1")
	e.register(t, "luca@hotel-lac.example", "p1")
	if _, err := e.svc.RequestPasswordReset(e.ctx, commands.Meta{}, "anna@hotel-lac.example"); err != nil {
		t.Fatal(err)
	}
	for _, inv := range []string{"INV-1", "INV-2"} {
		if _, err := e.svc.Property(e.ctx, commands.Meta{}, "p1", domain.MarkInvoiceOverdue{InvoiceID: inv}); err != nil {
			t.Fatal(err)
		}
	}
	if err := o.CatchUp(e.ctx); err != nil {
		t.Fatal(err)
	}
	before := readEMLs(t, e.dir)
	if len(before) != 4 || len(first.messages()) != 4 {
		t.Fatalf("%d files, %d sends; want 4 (2 activations, 1 reset, 1 billing)", len(before), len(first.messages()))
	}

	db.exec(t, `DELETE FROM checkpoints WHERE name = ?`, outbox.CheckpointName)
	second := &recorder{next: e.fileMailer(t)}
	o2 := e.outbox(t, db, second)
	if o2.Position() != 0 {
		t.Fatalf("position after losing the checkpoint = %d", o2.Position())
	}
	if err := o2.CatchUp(e.ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(second.messages()); n != 0 {
		t.Fatalf("replay sent %d messages again", n)
	}
	if after := readEMLs(t, e.dir); len(after) != len(before) {
		t.Fatalf("%d files after replay, want %d", len(after), len(before))
	}

	// The crash window: the mail went out, the process died before its record reached the log.
	e.register(t, "mia@hotel-lac.example", "p1")
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	dying := &recorder{next: e.fileMailer(t)}
	o3 := e.outbox(t, db, dying, func(c *outbox.Config) { c.Recorder = crashingRecorder{cancel} })
	if err := o3.CatchUp(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("catch-up = %v, want the crash", err)
	}
	if n := len(dying.messages()); n != 1 {
		t.Fatalf("sent %d before the crash, want mia's activation", n)
	}
	sentBefore := readEMLs(t, e.dir)
	restarted := &recorder{next: e.fileMailer(t)}
	o4 := e.outbox(t, db, restarted)
	if err := o4.CatchUp(e.ctx); err != nil {
		t.Fatal(err)
	}
	again := restarted.messages()
	if len(again) != 1 || again[0].ID != dying.messages()[0].ID || outbox.MessageIDHeader(again[0]) != outbox.MessageIDHeader(dying.messages()[0]) {
		t.Fatalf("after the crash sent %+v, want mia's activation once more, same message", again)
	}
	after := readEMLs(t, e.dir)
	if len(after) != len(before)+1 {
		t.Fatalf("%d files after a re-send, want %d: one file per message", len(after), len(before)+1)
	}
	for i := range after {
		if !bytes.Equal(after[i].raw, sentBefore[i].raw) {
			t.Errorf("%s changed on the re-send", after[i].path)
		}
	}
	if recs := mailRecords(t, e, again[0].ID); len(recs) != 1 || recs[0].Type != (domain.MailSent{}).EventType() {
		t.Fatalf("the re-sent message has records %v, want one mail_sent", recs)
	}
	// Once recorded, never again: a third run sends nothing.
	third := &recorder{}
	db.exec(t, `DELETE FROM checkpoints`)
	if err := e.outbox(t, db, third).CatchUp(e.ctx); err != nil || len(third.messages()) != 0 {
		t.Fatalf("a replay after the record sent %d (%v)", len(third.messages()), err)
	}
}

// crashingRecorder is a process that dies while appending a delivery record: nothing reaches
// the log.
type crashingRecorder struct{ die context.CancelFunc }

func (c crashingRecorder) Append(context.Context, string, eventstore.ExpectedRevision, ...eventstore.EventData) (eventstore.AppendResult, error) {
	c.die()
	return eventstore.AppendResult{}, context.Canceled
}

// mailRecords reads the log's records of a message.
func mailRecords(t *testing.T, e *env, messageID string) []eventstore.RecordedEvent {
	t.Helper()
	recs, err := e.store.ReadStream(e.ctx, domain.MailStream(messageID), 0, 10)
	if errors.Is(err, eventstore.ErrStreamNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// A mail that keeps failing is retried MaxAttempts times, dead-lettered, and the outbox moves
// on to the next mail; a mail that fails a few times and then goes through is just sent.
func TestFailingSendIsRetriedThenDeadLettered(t *testing.T) {
	e := newEnv(t)
	db := openDB(t, filepath.Join(t.TempDir(), "read.db"))
	rec := &recorder{fail: func(m outbox.Message, attempt int) error {
		switch {
		case slices.Contains(m.To, "bounce@hotel-lac.example"):
			return errors.New("550 mailbox unavailable")
		case slices.Contains(m.To, "flaky@hotel-lac.example") && attempt <= 2:
			return errors.New("421 try again later")
		}
		return nil
	}}
	o := e.outbox(t, db, rec, func(c *outbox.Config) { c.MaxAttempts = 3 })
	bounce := e.register(t, "bounce@hotel-lac.example", "")
	e.register(t, "flaky@hotel-lac.example", "")
	e.register(t, "fine@hotel-lac.example", "")

	start := time.Now()
	if err := o.CatchUp(e.ctx); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("catch-up took %v", time.Since(start))
	}
	head, _ := e.store.HeadPosition(e.ctx)
	if o.Position() != head {
		t.Fatalf("position %d, head %d: the outbox did not move on", o.Position(), head)
	}
	sent := rec.messages()
	if len(sent) != 2 {
		t.Fatalf("sent %d, want the flaky and the fine activation", len(sent))
	}
	dead, err := o.DeadLetters(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 {
		t.Fatalf("%d dead letters, want 1: %+v", len(dead), dead)
	}
	d := dead[0]
	if d.Kind != outbox.KindActivation || d.AccountID != bounce.AccountID || d.Attempts != 3 ||
		!strings.Contains(d.LastError, "550 mailbox unavailable") || !slices.Equal(d.To, []string{"bounce@hotel-lac.example"}) || d.Position == 0 {
		t.Errorf("dead letter = %+v", d)
	}
	rec.mu.Lock()
	tries := rec.tries[d.ID]
	rec.mu.Unlock()
	if tries != 3 {
		t.Errorf("%d attempts at the dead letter, want 3", tries)
	}
	if logs := e.logs.String(); !strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, "dead-lettered") || !strings.Contains(logs, d.ID) {
		t.Errorf("the dead letter was not logged as an error:\n%s", logs)
	}
	var attempts int
	db.queryRow(t, `SELECT count(*) FROM outbox_attempts`).Scan(&attempts)
	if attempts != 0 {
		t.Errorf("%d attempt records left behind", attempts)
	}

	// A replay does not retry a dead letter.
	db.exec(t, `DELETE FROM checkpoints WHERE name = ?`, outbox.CheckpointName)
	again := &recorder{}
	if err := e.outbox(t, db, again).CatchUp(e.ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(again.messages()); n != 0 {
		t.Errorf("replay sent %d", n)
	}
}

// A permanent failure is dead-lettered at the first attempt.
func TestPermanentFailureIsNotRetried(t *testing.T) {
	e := newEnv(t)
	db := openDB(t, filepath.Join(t.TempDir(), "read.db"))
	rec := &recorder{fail: func(m outbox.Message, _ int) error {
		if slices.Contains(m.To, "bounce@hotel-lac.example") {
			return fmt.Errorf("smtp RCPT TO: %w: 550 no such user", outbox.ErrPermanent)
		}
		return nil
	}}
	o := e.outbox(t, db, rec)
	e.register(t, "bounce@hotel-lac.example", "")
	e.register(t, "fine@hotel-lac.example", "")
	if err := o.CatchUp(e.ctx); err != nil {
		t.Fatal(err)
	}
	dead, _ := o.DeadLetters(e.ctx)
	if len(dead) != 1 || dead[0].Attempts != 1 {
		t.Fatalf("dead letters %+v, want one after one attempt", dead)
	}
	if len(rec.messages()) != 1 {
		t.Fatalf("sent %d, want the fine activation", len(rec.messages()))
	}
}

// Failed attempts survive a restart: MaxAttempts counts across processes.
func TestAttemptsSurviveRestart(t *testing.T) {
	e := newEnv(t)
	db := openDB(t, filepath.Join(t.TempDir(), "read.db"))
	e.register(t, "bounce@hotel-lac.example", "")
	ctx, cancel := context.WithCancel(e.ctx)
	failing := &recorder{fail: func(m outbox.Message, attempt int) error {
		if attempt == 2 {
			cancel() // the process stops during its second attempt
		}
		return errors.New("451 local error")
	}}
	o := e.outbox(t, db, failing, func(c *outbox.Config) { c.MaxAttempts = 3 })
	if err := o.CatchUp(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("catch-up = %v, want canceled", err)
	}
	if o.Position() != 4 { // the skeleton index and claim, the e-mail reservation and the registration; not the activation
		t.Fatalf("position %d", o.Position())
	}
	restarted := &recorder{fail: func(outbox.Message, int) error { return errors.New("451 local error") }}
	o2 := e.outbox(t, db, restarted, func(c *outbox.Config) { c.MaxAttempts = 3 })
	if err := o2.CatchUp(e.ctx); err != nil {
		t.Fatal(err)
	}
	restarted.mu.Lock()
	n := 0
	for _, v := range restarted.tries {
		n += v
	}
	restarted.mu.Unlock()
	if n != 2 {
		t.Errorf("%d attempts after the restart, want 2 (one was counted before)", n)
	}
	if dead, _ := o2.DeadLetters(e.ctx); len(dead) != 1 || dead[0].Attempts != 3 {
		t.Errorf("dead letters %+v", dead)
	}
}

// A restart resumes from the checkpoint: with the deliveries fold emptied (and its checkpoint
// kept, so it does not read the records again), only the checkpoint keeps the old mail from
// going out again.
func TestRestartResumesFromCheckpoint(t *testing.T) {
	e := newEnv(t)
	dbPath := filepath.Join(t.TempDir(), "read.db")
	db := openDB(t, dbPath)
	first := &recorder{}
	o := e.outbox(t, db, first)
	e.register(t, "anna@hotel-lac.example", "")
	if err := o.CatchUp(e.ctx); err != nil {
		t.Fatal(err)
	}
	pos := o.Position()
	if pos == 0 || len(first.messages()) != 1 {
		t.Fatalf("position %d, %d sent", pos, len(first.messages()))
	}
	db.DB.Close()

	e.register(t, "luca@hotel-lac.example", "")
	db2 := openDB(t, dbPath)
	db2.exec(t, `DELETE FROM outbox_deliveries`)
	second := &recorder{}
	o2 := e.outbox(t, db2, second)
	if o2.Position() != pos {
		t.Fatalf("restarted at %d, want %d", o2.Position(), pos)
	}
	if err := o2.CatchUp(e.ctx); err != nil {
		t.Fatal(err)
	}
	got := second.messages()
	if len(got) != 1 || got[0].To[0] != "luca@hotel-lac.example" {
		t.Fatalf("after restart sent %+v, want only luca's activation", got)
	}
}

// Run follows the log live and stops with its context.
func TestRunFollowsTheLog(t *testing.T) {
	e := newEnv(t)
	db := openDB(t, filepath.Join(t.TempDir(), "read.db"))
	rec := &recorder{}
	o := e.outbox(t, db, rec)
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan error, 1)
	go func() { done <- o.Run(ctx) }()

	e.register(t, "anna@hotel-lac.example", "")
	deadline := time.Now().Add(5 * time.Second)
	for len(rec.messages()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if len(rec.messages()) != 1 {
		t.Fatal("Run did not send the activation mail")
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
}

// Notices: suspicious activity tells the primary contact of each of the account's properties
// (one message per property) and the user; billing suspension tells the billing contacts;
// the re-enable mail goes out once no disable is left, and says a password change is due.
func TestNotices(t *testing.T) {
	e := newEnv(t)
	db := openDB(t, filepath.Join(t.TempDir(), "read.db"))
	rec := &recorder{}
	o := e.outbox(t, db, rec)
	e.createProperty(t, "p1", "Hôtel du Lac", "direction@hotel-lac.example", "compta@hotel-lac.example", "factures@hotel-lac.example")
	e.createProperty(t, "p2", "Albergo Stella", "direzione@albergo-stella.example")
	anna := e.register(t, "anna@hotel-lac.example", "p1")
	if _, err := e.svc.Account(e.ctx, commands.Meta{}, anna.AccountID, domain.LinkToProperty{PropertyID: "p2"}); err != nil {
		t.Fatal(err)
	}
	support := domain.Actor{Kind: domain.ActorSupport, Reference: "REQ-7"}
	if _, err := e.svc.Disable(e.ctx, commands.Meta{}, anna.AccountID, domain.DisableAccount{Kind: domain.DisableManual, Actor: support}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Account(e.ctx, commands.Meta{}, anna.AccountID, domain.RecordSuspiciousActivity{
		Rule: "shared_account", Disable: true,
		Evidence: domain.Evidence{Addresses: []string{"203.0.113.9", "198.51.100.7"}, WindowStart: e.clock.Now(), WindowEnd: e.clock.Now().Add(time.Minute)},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Account(e.ctx, commands.Meta{}, anna.AccountID, domain.RecordSuspiciousActivity{Rule: "new_country"}); err != nil {
		t.Fatal(err) // recorded for review: no notice
	}
	if _, err := e.svc.Enable(e.ctx, commands.Meta{}, anna.AccountID, domain.EnableAccount{Kind: domain.DisableSuspiciousActivity, Actor: support}); err != nil {
		t.Fatal(err)
	}
	if err := o.CatchUp(e.ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.ofKind(outbox.KindAccountEnabled)); n != 0 {
		t.Fatalf("%d re-enable mails while the manual disable remains", n)
	}
	if _, err := e.svc.Enable(e.ctx, commands.Meta{}, anna.AccountID, domain.EnableAccount{Kind: domain.DisableManual, Actor: support}); err != nil {
		t.Fatal(err)
	}
	for _, inv := range []string{"INV-1", "INV-2"} {
		if _, err := e.svc.Property(e.ctx, commands.Meta{}, "p1", domain.MarkInvoiceOverdue{InvoiceID: inv}); err != nil {
			t.Fatal(err)
		}
	}
	if err := o.CatchUp(e.ctx); err != nil {
		t.Fatal(err)
	}

	disabled := rec.ofKind(outbox.KindAccountDisabled)
	if len(disabled) != 2 || !strings.Contains(disabled[0].Text, "disabled manually") || !strings.Contains(disabled[1].Text, "unusual activity") {
		t.Errorf("disable mails: %d", len(disabled))
	}
	sus := rec.ofKind(outbox.KindSuspiciousActivity)
	if len(sus) != 2 {
		t.Fatalf("%d suspicious-activity notices, want one per property", len(sus))
	}
	to := map[string]outbox.Message{}
	for _, m := range sus {
		if len(m.To) != 1 {
			t.Fatalf("notice to %v: one property's contact per message", m.To)
		}
		to[m.To[0]] = m
	}
	lac, stella := to["direction@hotel-lac.example"], to["direzione@albergo-stella.example"]
	if lac.ID == "" || stella.ID == "" || lac.ID == stella.ID {
		t.Fatalf("notices to %v", to)
	}
	for _, want := range []string{"Hôtel du Lac", "anna@hotel-lac.example", "shared_account", "203.0.113.9", "Activité suspecte", "contatto principale"} {
		if !strings.Contains(lac.Subject+lac.Text, want) {
			t.Errorf("notice lacks %q:\n%s", want, lac.Text)
		}
	}
	if strings.Contains(lac.Text, "Albergo Stella") || strings.Contains(stella.Text, "Hôtel du Lac") {
		t.Error("a notice names the other property")
	}
	enabled := rec.ofKind(outbox.KindAccountEnabled)
	if len(enabled) != 1 || !strings.Contains(enabled[0].Text, "change your password") {
		t.Fatalf("re-enable mails: %+v", enabled)
	}
	billing := rec.ofKind(outbox.KindBillingSuspended)
	if len(billing) != 1 {
		t.Fatalf("%d billing notices", len(billing))
	}
	b := billing[0]
	if !slices.Equal(b.To, []string{"compta@hotel-lac.example", "factures@hotel-lac.example"}) {
		t.Errorf("billing notice to %v", b.To)
	}
	for _, want := range []string{"Did you forget to pay your invoice?", "Avez-vous oublié de payer votre facture", "Hai dimenticato di pagare la fattura?"} {
		if !strings.Contains(b.Subject, want) {
			t.Errorf("billing subject %q lacks %q", b.Subject, want)
		}
	}
	if !strings.Contains(b.Text, "INV-1, INV-2") {
		t.Errorf("billing notice does not list the invoices:\n%s", b.Text)
	}
	if dead, _ := o.DeadLetters(e.ctx); len(dead) != 0 {
		t.Errorf("dead letters: %+v", dead)
	}
}

// An event the outbox cannot address (no registration on record) is dead-lettered at once.
func TestUnaddressableEventIsDeadLettered(t *testing.T) {
	e := newEnv(t)
	db := openDB(t, filepath.Join(t.TempDir(), "read.db"))
	rec := &recorder{}
	o := e.outbox(t, db, rec)
	link, err := e.links.Issue("ghost")
	if err != nil {
		t.Fatal(err)
	}
	evs, err := eventlog.Encode(domain.AccountStream("ghost"), domain.Metadata{CommandID: "c1"}, []domain.Event{
		{At: e.clock.Now(), Data: domain.PasswordResetRequested{TokenHash: link.Hash, Nonce: link.Nonce, ExpiresAt: e.clock.Now().Add(24 * time.Hour)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Append(e.ctx, domain.AccountStream("ghost"), eventstore.NoStream, evs...); err != nil {
		t.Fatal(err)
	}
	e.register(t, "anna@hotel-lac.example", "")
	if err := o.CatchUp(e.ctx); err != nil {
		t.Fatal(err)
	}
	dead, _ := o.DeadLetters(e.ctx)
	if len(dead) != 1 || dead[0].Attempts != 0 || dead[0].AccountID != "ghost" || !strings.Contains(dead[0].LastError, "no e-mail address") {
		t.Fatalf("dead letters %+v", dead)
	}
	if len(rec.messages()) != 1 {
		t.Fatalf("sent %d, want anna's activation", len(rec.messages()))
	}
}

// sqlDB wraps the read-model database with test helpers.
type sqlDB struct{ DB *sql.DB }

func (d *sqlDB) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	if _, err := d.DB.ExecContext(context.Background(), q, args...); err != nil {
		t.Fatal(err)
	}
}

func (d *sqlDB) queryRow(t *testing.T, q string, args ...any) *sql.Row {
	t.Helper()
	return d.DB.QueryRowContext(context.Background(), q, args...)
}

// dump is every outbox table as text.
func (d *sqlDB) dump(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, table := range []string{"outbox_accounts", "outbox_memberships", "outbox_disables", "outbox_properties", "outbox_deliveries", "outbox_attempts", "outbox_dead_letters", "checkpoints"} {
		rows, err := d.DB.QueryContext(context.Background(), `SELECT * FROM `+table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				switch x := v.(type) {
				case []byte:
					b.Write(x)
				case string:
					b.WriteString(x)
				}
				b.WriteByte('|')
			}
		}
		rows.Close()
	}
	return b.String()
}

// A node restored without its read models (or a new node on a shared log) starts with no
// checkpoint: it mails what happened within the horizon and skips, counting them, the mails
// of older events, whose links have long expired; a negative MaxAge sends everything.
func TestMailOlderThanTheHorizonIsSkipped(t *testing.T) {
	cases := []struct {
		name     string
		maxAge   time.Duration
		wantSent []string
		stale    uint64
	}{
		{"default horizon (72 h)", 0, []string{"luca@hotel-lac.example"}, 1},
		{"a tighter horizon", time.Hour, nil, 2},
		{"no horizon", -1, []string{"anna@hotel-lac.example", "luca@hotel-lac.example"}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.register(t, "anna@hotel-lac.example", "")
			e.clock.Advance(4 * 24 * time.Hour)
			e.register(t, "luca@hotel-lac.example", "")
			e.clock.Advance(2 * time.Hour)
			sent := &recorder{}
			o := e.outbox(t, openDB(t, filepath.Join(t.TempDir(), "read.db")), sent, func(c *outbox.Config) { c.MaxAge = tc.maxAge })
			if err := o.CatchUp(e.ctx); err != nil {
				t.Fatal(err)
			}
			var to []string
			for _, m := range sent.messages() {
				to = append(to, m.To...)
			}
			if !slices.Equal(to, tc.wantSent) || o.Stale() != tc.stale {
				t.Fatalf("sent to %v with %d stale, want %v and %d", to, o.Stale(), tc.wantSent, tc.stale)
			}
			if head, _ := e.store.HeadPosition(e.ctx); o.Position() != head {
				t.Fatalf("checkpoint %d, want the head %d: skipped mail must not be retried", o.Position(), head)
			}
		})
	}
}
