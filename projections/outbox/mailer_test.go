package outbox_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"accountd/projections/outbox"
)

func sampleMessage() outbox.Message {
	return outbox.Message{
		ID:        "0b9a4c1e-3f2d-5a6b-8c7d-9e0f1a2b3c4d",
		Kind:      outbox.KindPasswordReset,
		AccountID: "acc-1",
		To:        []string{"anna@hotel-lac.example"},
		Subject:   "Reset your password / Réinitialisation de votre mot de passe / Reimpostazione della password",
		Text:      "Hello,\n\n.a line starting with a dot\nhttps://login.hotel.example/reset-password?token=acc-1.abc\n",
		Link:      "https://login.hotel.example/reset-password?token=acc-1.abc",
		CreatedAt: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC),
		From:      sender,
	}
}

func TestFileMailerKeepsOneFilePerMessage(t *testing.T) {
	dir := t.TempDir()
	fm, err := outbox.NewFileMailer(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := sampleMessage()
	for range 3 {
		if err := fm.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "20260302-"+m.ID+".eml" {
		t.Fatalf("files %v, want one named by date and ID (no temporary file left)", entries)
	}
	if fm.Path(m) != filepath.Join(dir, entries[0].Name()) {
		t.Errorf("Path = %s", fm.Path(m))
	}
	bad := m
	bad.ID = "../escape"
	if err := fm.Send(context.Background(), bad); err == nil {
		t.Error("an ID with a path in it was accepted")
	}
	bad = m
	bad.To = []string{"victim@example.com\r\nBcc: everyone@example.com"}
	if err := fm.Send(context.Background(), bad); err == nil {
		t.Error("a recipient with a line break was accepted")
	}
}

// fakeSMTP accepts one message per connection and keeps what it received.
type fakeSMTP struct {
	ln   net.Listener
	mu   sync.Mutex
	from string
	rcpt []string
	data []byte
}

func startFakeSMTP(t *testing.T) *fakeSMTP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeSMTP{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *fakeSMTP) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(line string) { io.WriteString(c, line+"\r\n") }
	say("220 fake ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.TrimRight(line, "\r\n")
		switch up := strings.ToUpper(cmd); {
		case strings.HasPrefix(up, "EHLO"), strings.HasPrefix(up, "HELO"):
			say("250 fake")
		case strings.HasPrefix(up, "MAIL FROM:"):
			s.mu.Lock()
			s.from = strings.Trim(cmd[len("MAIL FROM:"):], "<> ")
			s.mu.Unlock()
			say("250 ok")
		case strings.HasPrefix(up, "RCPT TO:") && strings.Contains(cmd, "bounce@"):
			say("550 5.1.1 no such user")
		case strings.HasPrefix(up, "RCPT TO:") && strings.Contains(cmd, "busy@"):
			say("451 4.3.0 try again later")
		case strings.HasPrefix(up, "RCPT TO:"):
			s.mu.Lock()
			s.rcpt = append(s.rcpt, strings.Trim(cmd[len("RCPT TO:"):], "<> "))
			s.mu.Unlock()
			say("250 ok")
		case up == "DATA":
			say("354 go ahead")
			var buf bytes.Buffer
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				buf.WriteString(strings.TrimPrefix(l, ".")) // undo dot-stuffing
			}
			s.mu.Lock()
			s.data = buf.Bytes()
			s.mu.Unlock()
			say("250 queued")
		case up == "QUIT":
			say("221 bye")
			return
		default:
			say("250 ok")
		}
	}
}

func TestSMTPMailerSendsWithStableMessageID(t *testing.T) {
	srv := startFakeSMTP(t)
	sm, err := outbox.NewSMTPMailer(outbox.SMTPConfig{Addr: srv.ln.Addr().String(), From: "bounces@login.hotel.example"})
	if err != nil {
		t.Fatal(err)
	}
	m := sampleMessage()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := sm.Send(ctx, m); err != nil {
		t.Fatal(err)
	}
	srv.mu.Lock()
	from, rcpt, data := srv.from, srv.rcpt, srv.data
	srv.mu.Unlock()
	if from != "bounces@login.hotel.example" || len(rcpt) != 1 || rcpt[0] != "anna@hotel-lac.example" {
		t.Errorf("envelope from %q to %v", from, rcpt)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := msg.Header.Get("Message-Id"), outbox.MessageIDHeader(m); got != want || want != "<"+m.ID+".outbox@login.hotel.example>" {
		t.Errorf("Message-ID %q, want %q", got, want)
	}
	if got := msg.Header.Get("From"); !strings.Contains(got, "no-reply@login.hotel.example") {
		t.Errorf("From %q: the message's own sender goes in the header", got)
	}
	body, _ := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if !strings.Contains(string(body), "\r\n.a line starting with a dot\r\n") {
		t.Errorf("body lost its dot line:\n%q", body)
	}

	// A 5xx reply is permanent, a 4xx one is not.
	bounce := m
	bounce.To = []string{"bounce@hotel-lac.example"}
	if err := sm.Send(ctx, bounce); !errors.Is(err, outbox.ErrPermanent) {
		t.Errorf("550 reply: %v, want ErrPermanent", err)
	}
	busy := m
	busy.To = []string{"busy@hotel-lac.example"}
	if err := sm.Send(ctx, busy); err == nil || errors.Is(err, outbox.ErrPermanent) {
		t.Errorf("451 reply: %v, want a temporary error", err)
	}

	if _, err := outbox.NewSMTPMailer(outbox.SMTPConfig{Addr: "no-port", From: "a@b.example"}); err == nil {
		t.Error("an address without a port was accepted")
	}
	unreachable, _ := outbox.NewSMTPMailer(outbox.SMTPConfig{Addr: "127.0.0.1:1", From: "a@b.example"})
	if err := unreachable.Send(ctx, m); err == nil {
		t.Error("a send to a closed port succeeded")
	}
}
