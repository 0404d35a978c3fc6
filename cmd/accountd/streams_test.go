package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"accountd/domain"
	"accountd/eventstore"
	"accountd/eventstore/eventlog"
	"accountd/eventstore/sqlite"
	"accountd/projections/streams"
)

func TestStreamFlags(t *testing.T) {
	const nats = "siem=nats://127.0.0.1:4222?subject=accountd.events&stream=AUTH"
	const hook = "hooks=https://helpdesk.example/accountd"
	tests := []struct {
		name  string
		args  []string
		env   []string
		check func(t *testing.T, cs []streams.Config)
		err   string
	}{
		{name: "none", check: func(t *testing.T, cs []streams.Config) {
			if len(cs) != 0 {
				t.Errorf("streams by default: %+v", cs)
			}
		}},
		{name: "flags", args: []string{"--stream", nats, "--stream", hook, "--stream-secret", "hooks=0123456789abcdef0123",
			"--stream-filter", "siem=category:authentication,account_change", "--stream-filter", "siem=property:lac", "--stream-pause-after", "3"},
			check: func(t *testing.T, cs []streams.Config) {
				if len(cs) != 2 || cs[0].Name != "siem" || cs[0].Destination.Kind != streams.KindJetStream || cs[0].Destination.JetStream != "AUTH" ||
					cs[0].Filter.String() != "category:authentication,account_change property:lac" || cs[0].PauseAfter != 3 ||
					cs[1].Destination.Kind != streams.KindWebhook || string(cs[1].Secret) != "0123456789abcdef0123" {
					t.Errorf("streams: %+v", cs)
				}
			}},
		{name: "environment, several entries in one variable", env: []string{"ACCOUNTD_STREAM=" + nats + " " + hook, "ACCOUNTD_STREAM_SECRET=hooks=0123456789abcdef0123", "ACCOUNTD_STREAM_FILTER=hooks=type:account_locked.v1"},
			check: func(t *testing.T, cs []streams.Config) {
				if len(cs) != 2 || len(cs[1].Filter.Types) != 1 || len(cs[1].Secret) == 0 {
					t.Errorf("streams from the environment: %+v", cs)
				}
			}},
		{name: "webhook without secret", args: []string{"--stream", hook}, err: "needs --stream-secret hooks=SECRET"},
		{name: "secret for nats", args: []string{"--stream", nats, "--stream-secret", "siem=0123456789abcdef0123"}, err: "only webhooks are signed"},
		{name: "plain http elsewhere", args: []string{"--stream", "x=http://helpdesk.example/", "--stream-secret", "x=0123456789abcdef0123"}, err: "loopback"},
		{name: "filter for no stream", args: []string{"--stream", nats, "--stream-filter", "other=category:policy"}, err: "no --stream other=URL"},
		{name: "bad filter", args: []string{"--stream", nats, "--stream-filter", "siem=category:logins"}, err: "--stream-filter siem"},
		{name: "twice", args: []string{"--stream", nats, "--stream", nats}, err: "given twice"},
		{name: "no name", args: []string{"--stream", "nats://127.0.0.1:4222?subject=a"}, err: "want NAME=URL"},
		{name: "bad name", args: []string{"--stream", "a b=nats://127.0.0.1:4222?subject=a"}, err: "want NAME=URL"},
		{name: "password stays out of errors", args: []string{"--stream", "q=amqp://guest:hunter2@127.0.0.1:5672/"}, err: "exchange"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			cfg, err := parseServe(tc.args, tc.env, &stderr)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Fatalf("the error shows a password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, cfg.Streams)
		})
	}
}

// TestStreamsResetOffline: with no server on --data, the command writes the checkpoint the
// stream starts from next time.
func TestStreamsResetOffline(t *testing.T) {
	dir := t.TempDir()
	store, err := sqlite.Open(filepath.Join(dir, "events.db"), sqlite.WithSynchronous(sqlite.Normal))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		data, _ := eventlog.Encode("account-a", domain.Metadata{CommandID: fmt.Sprint("c", i)}, []domain.Event{{At: time.Now(), Data: domain.LoginFailed{Reason: "wrong_password"}}})
		if _, err := store.Append(context.Background(), "account-a", eventstore.Any, data...); err != nil {
			t.Fatal(err)
		}
	}
	store.Close()
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"reset", []string{"streams", "reset", "siem", "--from", "3", "--data", dir}, 0, "sends again from log position 3"},
		{"beyond the head", []string{"streams", "reset", "siem", "--from", "7", "--data", dir}, 1, "beyond the log's head"},
		{"no position", []string{"streams", "reset", "siem", "--data", dir}, 2, "--from"},
		{"no name", []string{"streams", "reset", "--from", "1", "--data", dir}, 2, "exactly one stream NAME"},
		{"bad name", []string{"streams", "reset", "a/b", "--from", "1", "--data", dir}, 1, "unknown stream"},
		{"no verb", []string{"streams"}, 2, "accountd streams reset NAME --from POSITION"},
		{"help", []string{"streams", "--help"}, 0, "same event IDs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, nil, &stdout, &stderr)
			if out := stdout.String() + stderr.String(); code != tc.code || !strings.Contains(out, tc.want) {
				t.Fatalf("exit %d (want %d), output lacks %q:\n%s", code, tc.code, tc.want, out)
			}
		})
	}
	db, err := sql.Open("sqlite3", filepath.Join(dir, "streams.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var pos int
	if err := db.QueryRow(`SELECT position FROM stream_checkpoints WHERE name = 'siem'`).Scan(&pos); err != nil || pos != 2 {
		t.Fatalf("checkpoint %d, %v; want 2 (the next event sent is position 3)", pos, err)
	}
}
