package outbox_test

import (
	"context"
	"crypto/rand"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"accountd/commands"
	"accountd/domain"
	"accountd/domain/credentials"
	"accountd/eventstore"
	"accountd/eventstore/sqlite"
	"accountd/projections"
	"accountd/projections/outbox"
)

// discardRecorder stores nothing: the reference for what a mail costs the outbox without
// its record in the log (the former release kept only a local row).
type discardRecorder struct{}

func (discardRecorder) Append(context.Context, string, eventstore.ExpectedRevision, ...eventstore.EventData) (eventstore.AppendResult, error) {
	return eventstore.AppendResult{Positions: []uint64{0}}, nil
}

type nopMailer struct{}

func (nopMailer) Send(context.Context, outbox.Message) error { return nil }

// BenchmarkOutboxMail is the outbox's cost per mail on the durable SQLite log (Full sync):
// one registration's activation, from its event to the checkpoint past it. "log" appends
// the mail_sent record (one fsynced append); "no-record" is the reference without it.
//
//	go test -run '^$' -bench BenchmarkOutboxMail -benchtime 200x ./projections/outbox/
func BenchmarkOutboxMail(b *testing.B) {
	for _, tc := range []struct {
		name     string
		recorder func(eventstore.Store) outbox.Recorder
	}{
		{"no-record", func(eventstore.Store) outbox.Recorder { return discardRecorder{} }},
		{"log", func(s eventstore.Store) outbox.Recorder { return s }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			dir := b.TempDir()
			store, err := sqlite.Open(filepath.Join(dir, "events.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer store.Close()
			key := make([]byte, 32)
			rand.Read(key)
			links, _ := credentials.NewLinkKey(key)
			mfa, _ := credentials.NewMFA(key, "bench")
			hasher, _ := credentials.NewHasher(credentials.Argon2Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32})
			svc, err := commands.NewService(commands.Config{Store: store, Clock: time.Now, Policy: domain.DefaultPolicy, Hasher: hasher, MFA: mfa, Links: links})
			if err != nil {
				b.Fatal(err)
			}
			db, err := projections.OpenDB(filepath.Join(dir, "readmodels.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			o, err := outbox.New(ctx, outbox.Config{Store: store, Recorder: tc.recorder(store), DB: db, Links: links, Mailer: nopMailer{},
				PublicURL: "https://login.hotel.example", From: "Hotel Login <no-reply@login.hotel.example>", Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				if _, err := svc.Register(ctx, commands.Meta{}, commands.Registration{Email: "staff" + itoa(i) + "@hotel-lac.example", Password: "Correct horse battery 42"}); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if err := o.CatchUp(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var buf [20]byte
	n := len(buf)
	for ; i > 0; i /= 10 {
		n--
		buf[n] = byte('0' + i%10)
	}
	return string(buf[n:])
}
