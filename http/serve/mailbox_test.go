package serve_test

import (
	"io"
	"mime/quotedprintable"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// mailbox reads the outbox's .eml files as a person reads their inbox: it waits for a new
// mail of a kind to an address and follows the link in it. Each mail is read once, so two
// requests give two different mails, in the order they arrive.
type mailbox struct {
	t    *testing.T
	dir  string
	seen map[string]bool
}

func newMailbox(e *env) *mailbox {
	return &mailbox{t: e.t, dir: filepath.Join(e.data, "outbox"), seen: map[string]bool{}}
}

type email struct {
	file    string
	to      string
	kind    string
	subject string
	body    string
}

var linkPattern = regexp.MustCompile(`https?://\S+\?token=\S+`)

// link waits for the next unread mail of kind to address and returns the token of its link.
func (m *mailbox) link(to, kind string) string {
	m.t.Helper()
	mail := m.next(to, kind)
	raw := linkPattern.FindString(mail.body)
	if raw == "" {
		m.t.Fatalf("mail %s has no link:\n%s", mail.file, mail.body)
	}
	u, err := url.Parse(raw)
	if err != nil {
		m.t.Fatalf("mail %s: link %q: %v", mail.file, raw, err)
	}
	return u.Query().Get("token")
}

// next waits (up to 10 s) for an unread mail of kind to address.
func (m *mailbox) next(to, kind string) email {
	m.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, mail := range m.read() {
			if !m.seen[mail.file] && mail.kind == kind && strings.EqualFold(mail.to, to) {
				m.seen[mail.file] = true
				return mail
			}
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("no %s mail to %s arrived in %s", kind, to, m.dir)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// count is how many mails of kind to address are in the outbox.
func (m *mailbox) count(to, kind string) int {
	n := 0
	for _, mail := range m.read() {
		if mail.kind == kind && strings.EqualFold(mail.to, to) {
			n++
		}
	}
	return n
}

func (m *mailbox) read() []email {
	m.t.Helper()
	entries, err := os.ReadDir(m.dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		m.t.Fatal(err)
	}
	var out []email
	for _, de := range entries {
		if !strings.HasSuffix(de.Name(), ".eml") {
			continue
		}
		path := filepath.Join(m.dir, de.Name())
		f, err := os.Open(path)
		if err != nil {
			m.t.Fatal(err)
		}
		msg, err := mail.ReadMessage(f)
		if err != nil {
			f.Close()
			m.t.Fatalf("%s: %v", path, err)
		}
		body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
		f.Close()
		if err != nil {
			m.t.Fatalf("%s: %v", path, err)
		}
		to, _ := mail.ParseAddress(msg.Header.Get("To"))
		addr := ""
		if to != nil {
			addr = to.Address
		}
		out = append(out, email{file: de.Name(), to: addr, kind: msg.Header.Get("X-Accountd-Kind"), subject: msg.Header.Get("Subject"), body: string(body)})
	}
	slices.SortFunc(out, func(a, b email) int { return strings.Compare(a.file, b.file) })
	return out
}
