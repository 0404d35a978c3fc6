package outbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"
)

// Kinds of mail.
const (
	KindActivation         = "activation"
	KindPasswordReset      = "password_reset"
	KindUnlock             = "unlock"
	KindAccountDisabled    = "account_disabled"
	KindAccountEnabled     = "account_enabled"
	KindBillingSuspended   = "billing_suspended"
	KindSuspiciousActivity = "suspicious_activity"
)

// Message is one mail to send. Everything in it is derived from the log, so a replay of
// the same event produces the same message, byte for byte once rendered.
type Message struct {
	// ID is the dedup key: the ID of the event that caused the mail. A notice that goes to
	// the primary contacts of several properties is one message per property, each with
	// ID "<event ID>-<8 hex digits naming the property>" (see propertyMessageID).
	ID        string
	Kind      string // one of the Kind constants
	AccountID string
	To        []string
	Subject   string
	// Text is the plain-text body: English, French and Italian sections.
	Text string
	// Link is the URL with the token, for link mails (activation, password_reset, unlock).
	Link string
	// CreatedAt is the domain time of the event that caused the mail (never the clock at
	// replay), so the Date header and the file name are stable across replays.
	CreatedAt time.Time
	// From is the sender (Config.From). A mailer may have a default for an empty From.
	From string
}

// Mailer delivers messages. Send must be safe to repeat for the same message: the outbox
// delivers at least once. An error that wraps ErrPermanent is not retried.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// Forgetter is a Mailer that can take back what it wrote: an account's erasure removes the
// copies of its messages (FileMailer's files). It reports how many it removed; a message
// it never wrote is no error.
type Forgetter interface {
	Forget(ctx context.Context, messageIDs []string) (int, error)
}

// ErrPermanent marks a delivery failure that a retry cannot fix: a message that cannot be
// written (a bad address, an unusable ID) or an SMTP 5xx reply. The outbox dead-letters it
// at once instead of retrying it MaxAttempts times.
var ErrPermanent = errors.New("outbox: permanent delivery failure")

// MessageIDHeader is the RFC 5322 Message-ID of a message: derived from its ID and the
// sender's domain only, so every re-send carries the same header and receivers can drop
// duplicates.
func MessageIDHeader(m Message) string {
	domain := "accountd.invalid"
	if a, err := mail.ParseAddress(m.From); err == nil {
		if _, d, ok := strings.Cut(a.Address, "@"); ok && d != "" {
			domain = d
		}
	}
	return "<" + m.ID + ".outbox@" + domain + ">"
}

// validID accepts the IDs the outbox makes (UUIDs, optionally suffixed): they go into file
// names and headers, so nothing else is allowed.
func validID(id string) bool {
	if id == "" || len(id) > 128 || id[0] == '.' || id[0] == '-' {
		return false
	}
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
		default:
			return false
		}
	}
	return true
}

// render writes m as an RFC 5322 message with CRLF line ends: UTF-8 text in
// quoted-printable, non-ASCII headers as RFC 2047 encoded words. Its errors are permanent.
func render(m Message) ([]byte, error) {
	b, err := renderMessage(m)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPermanent, err)
	}
	return b, nil
}

func renderMessage(m Message) ([]byte, error) {
	if !validID(m.ID) {
		return nil, fmt.Errorf("outbox: message ID %q is not usable", m.ID)
	}
	if len(m.To) == 0 {
		return nil, fmt.Errorf("outbox: message %s has no recipient", m.ID)
	}
	from, err := parseAddress(m.From)
	if err != nil {
		return nil, fmt.Errorf("outbox: message %s: sender: %w", m.ID, err)
	}
	to := make([]string, len(m.To))
	for i, r := range m.To {
		a, err := parseAddress(r)
		if err != nil {
			return nil, fmt.Errorf("outbox: message %s: recipient: %w", m.ID, err)
		}
		to[i] = a.String()
	}
	var b bytes.Buffer
	header := func(name, value string) { b.WriteString(name + ": " + value + "\r\n") }
	header("Date", m.CreatedAt.UTC().Format(time.RFC1123Z))
	header("From", from.String())
	header("To", strings.Join(to, ",\r\n "))
	if subject := encodeHeader(m.Subject); strings.HasPrefix(subject, "=?") {
		// Encoded words may fill a line: each gets its own (RFC 2047: at most 76 octets).
		b.WriteString("Subject:\r\n " + subject + "\r\n")
	} else {
		header("Subject", fold(subject, len("Subject: ")))
	}
	header("Message-ID", MessageIDHeader(m))
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	header("Content-Language", "en, fr, it")
	header("Auto-Submitted", "auto-generated")
	header("X-Auto-Response-Suppress", "All")
	if m.Kind != "" && validID(m.Kind) {
		header("X-Accountd-Kind", m.Kind)
	}
	if m.Link != "" && !strings.ContainsAny(m.Link, "\r\n") {
		// The body is quoted-printable and wraps long lines; a header keeps the link whole for
		// tools and people reading the files (the README's walk-through greps it).
		header("X-Accountd-Link", m.Link)
	}
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	text := m.Text
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	if _, err := qp.Write([]byte(text)); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func parseAddress(s string) (*mail.Address, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("address contains a line break")
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", s, err)
	}
	return a, nil
}

// fold breaks a plain header value at spaces so lines stay within 78 octets where a word
// allows it; used is what the line already holds. Unfolding gives the value back.
func fold(v string, used int) string {
	var b strings.Builder
	n := used
	for i, w := range strings.Split(v, " ") {
		if i > 0 {
			if n+1+len(w) > 78 {
				b.WriteString("\r\n")
				n = 0
			}
			b.WriteByte(' ')
			n++
		}
		b.WriteString(w)
		n += len(w)
	}
	return b.String()
}

// encodeHeader encodes a header value as RFC 2047 words when it is not plain ASCII, one
// encoded word per folded line.
func encodeHeader(v string) string {
	v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
	enc := mime.QEncoding.Encode("utf-8", v)
	if enc == v {
		return v
	}
	return strings.ReplaceAll(enc, "?= =?", "?=\r\n =?")
}
