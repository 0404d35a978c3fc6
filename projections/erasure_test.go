package projections_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"accountd/commands"
	"accountd/domain"
	"accountd/domain/credentials"
	"accountd/eventstore"
	"accountd/eventstore/sqlite"
	"accountd/projections"
	"accountd/projections/compliance"
	"accountd/projections/outbox"
	"accountd/projections/timeline"
)

const erasurePassword = "Correct horse battery 42"

// shreddingStore stands in for the sealing store and its key store (eventstore/personal):
// once an account's subject is destroyed, reads show the personal values of its events
// (account stream, or data naming the account) as domain.Erased, element by element in
// arrays, as the sealing store does when a key is gone.
type shreddingStore struct {
	eventstore.Store
	mu        sync.Mutex
	destroyed map[string]bool
}

var personalMembers = map[string]bool{"email": true, "primary_contact_email": true, "email_hash": true, "ip": true, "user_agent": true, "device_id": true, "addresses": true, "devices": true}

func (s *shreddingStore) DestroySubject(_ context.Context, subject string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.destroyed[subject] = true
	return nil
}

func (s *shreddingStore) ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]eventstore.RecordedEvent, error) {
	recs, err := s.Store.ReadStream(ctx, stream, from, limit)
	return s.open(recs), err
}

func (s *shreddingStore) ReadAll(ctx context.Context, after uint64, limit int) ([]eventstore.RecordedEvent, error) {
	recs, err := s.Store.ReadAll(ctx, after, limit)
	return s.open(recs), err
}

func (s *shreddingStore) open(recs []eventstore.RecordedEvent) []eventstore.RecordedEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]eventstore.RecordedEvent, len(recs))
	for i, r := range recs {
		var m map[string]any
		if json.Unmarshal(r.Data, &m) == nil {
			id, ok := strings.CutPrefix(r.Stream, "account-")
			if !ok {
				id, _ = m["account_id"].(string)
			}
			if s.destroyed["account."+id] {
				eraseMembers(m)
				r.Data, _ = json.Marshal(m)
			}
		}
		out[i] = r
	}
	return out
}

func eraseMembers(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if !personalMembers[k] {
				eraseMembers(val)
				continue
			}
			switch vv := val.(type) {
			case string:
				x[k] = domain.Erased
			case []any:
				for i := range vv {
					vv[i] = domain.Erased
				}
			}
		}
	case []any:
		for _, e := range x {
			eraseMembers(e)
		}
	}
}

// After an erasure the read models hold none of the account's personal values (rows,
// database file and WAL), its mail files are gone, its status, access log and timeline
// entries still answer with [erased] in their place, and a rebuild from the log, which
// now reads the account's events erased, gives the same rows as the live projections.
func TestReadModelsForgetAnErasedAccount(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	inner, err := sqlite.Open(filepath.Join(dir, "events.db"), sqlite.WithSynchronous(sqlite.Normal))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inner.Close() })
	store := &shreddingStore{Store: inner, destroyed: map[string]bool{}}
	now := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	h, _ := credentials.NewHasher(credentials.Argon2Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32})
	key := bytes.Repeat([]byte{9}, 32)
	mfa, _ := credentials.NewMFA(key, "test")
	links, _ := credentials.NewLinkKey(key)
	pol := domain.DefaultPolicy()
	pol.MFARequired = false
	svc, err := commands.NewService(commands.Config{Store: store, Clock: clock, Policy: func() domain.Policy { return pol }, Hasher: h, MFA: mfa, Links: links, Shredder: store})
	if err != nil {
		t.Fatal(err)
	}
	m := commands.Meta{}
	if _, err := svc.Property(ctx, m, "lac", domain.CreateProperty{PropertyID: "lac", Name: "Hôtel du Lac", PrimaryContactEmail: "direction@lac.example"}); err != nil {
		t.Fatal(err)
	}
	const anna, bruno = "anna.erase@lac.example", "bruno@lac.example"
	personal := []string{anna, "203.0.113.77", "198.51.100.78", "AnnaBrowser/1.0", "anna-laptop"}
	ids := map[string]string{}
	for _, email := range []string{anna, bruno} {
		reg, err := svc.Register(ctx, m, commands.Registration{Email: email, Password: erasurePassword, PropertyID: "lac"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Activate(ctx, m, reg.ActivationToken); err != nil {
			t.Fatal(err)
		}
		ids[email] = reg.AccountID
	}
	for _, o := range []domain.Origin{{IP: "203.0.113.77", UserAgent: "AnnaBrowser/1.0", DeviceID: "anna-laptop"}, {IP: "198.51.100.78"}} {
		if _, err := svc.Login(ctx, m, commands.LoginAttempt{Email: anna, Password: "wrong", Origin: o}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Login(ctx, m, commands.LoginAttempt{Email: anna, Password: erasurePassword, Origin: o}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.RequestPasswordReset(ctx, m, anna); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Login(ctx, m, commands.LoginAttempt{Email: bruno, Password: erasurePassword, Origin: domain.Origin{IP: "192.0.2.5"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.RecordSuspiciousActivity(ctx, m, ids[anna], domain.RuleSharedAccount,
		domain.Evidence{Addresses: []string{"203.0.113.77", "198.51.100.78"}, Devices: []string{"anna-laptop"}, Detail: "test"}, false); err != nil {
		t.Fatal(err)
	}

	path := filepath.Join(dir, "readmodels.db")
	db, err := projections.OpenDB(path)
	if err != nil {
		t.Fatal(err)
	}
	st := projections.NewStatus()
	r, err := projections.NewRunner(ctx, store, db, nil, st, compliance.New(), timeline.New())
	if err != nil {
		t.Fatal(err)
	}
	mails := filepath.Join(dir, "outbox")
	mailer, err := outbox.NewFileMailer(mails)
	if err != nil {
		t.Fatal(err)
	}
	ob, err := outbox.New(ctx, outbox.Config{Store: store, DB: db, Links: links, Mailer: mailer, PublicURL: "http://127.0.0.1:8080", From: "accountd <no-reply@localhost>", Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	catchUp := func() {
		t.Helper()
		for _, c := range []interface{ CatchUp(context.Context) error }{r, ob, r} {
			if err := c.CatchUp(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	catchUp()
	if !filesContain(t, mails, anna) || !filesContain(t, []string{path, path + "-wal"}, "203.0.113.77") {
		t.Fatal("the fixture wrote no mail or access row for the account: the test checks nothing")
	}

	if _, err := svc.EraseAccount(ctx, commands.Meta{CommandID: "erase"}, ids[anna], commands.Erasure{Actor: domain.Actor{Kind: domain.ActorSupport, Reference: "GDPR-1"}, Reason: "GDPR Art. 17"}); err != nil {
		t.Fatal(err)
	}
	catchUp()

	for _, v := range personal {
		if filesContain(t, mails, v) {
			t.Errorf("a mail file still holds %q", v)
		}
		if filesContain(t, []string{path, path + "-wal"}, v) {
			t.Errorf("the read-model database or its WAL still holds %q", v)
		}
	}
	if !filesContain(t, mails, bruno) || !filesContain(t, []string{path, path + "-wal"}, bruno) {
		t.Error("the erasure removed another account's data")
	}
	v, ok := st.AccountStatus(ids[anna], now, pol)
	if !ok || v.Email != domain.Erased || v.Status.Status != domain.StatusDeleted {
		t.Fatalf("status of the erased account: %+v", v)
	}
	if _, found := st.AccountIDByEmail(anna); found {
		t.Fatal("the status projection still finds the erased address")
	}
	var erasedRows int
	if err := db.QueryRow(`SELECT count(*) FROM compliance_access WHERE account_id = ? AND subject = ? AND ip IN ('', ?)`, ids[anna], domain.Erased, domain.Erased).Scan(&erasedRows); err != nil || erasedRows == 0 {
		t.Fatalf("the erased account's access rows: %d, %v", erasedRows, err)
	}
	tl := timeline.New()
	tl.Load(ctx, db)
	page, err := tl.Search(ctx, timeline.Query{AccountID: ids[anna]})
	if err != nil || len(page.Entries) != 1 || page.Entries[0].Evidence.Addresses[0] != domain.Erased {
		t.Fatalf("timeline of the erased account: %+v %v", page, err)
	}
	if page, _ := tl.Search(ctx, timeline.Query{IP: domain.Erased}); len(page.Entries) != 0 {
		t.Fatalf("erased addresses are searchable as one: %+v", page)
	}
	live := dumpAll(t, db)
	db.Close()

	if _, err := projections.Rebuild(ctx, store, path, nil, projections.RebuildOptions{}, projections.NewStatus(), compliance.New(), timeline.New()); err != nil {
		t.Fatal(err)
	}
	db, err = projections.OpenDB(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if rebuilt := dumpAll(t, db); rebuilt != live {
		t.Fatalf("a rebuild after the erasure differs from the live read models:\nlive:\n%s\nrebuilt:\n%s", live, rebuilt)
	}
}

// filesContain reports whether any of paths (files, or directories searched whole) holds s.
func filesContain(t *testing.T, paths any, s string) bool {
	t.Helper()
	var files []string
	switch p := paths.(type) {
	case string:
		filepath.Walk(p, func(path string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() {
				files = append(files, path)
			}
			return nil
		})
	case []string:
		files = p
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil && bytes.Contains(b, []byte(s)) {
			return true
		}
	}
	return false
}
