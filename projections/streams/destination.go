package streams

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Destination kinds.
const (
	KindJetStream = "nats"
	KindAMQP      = "amqp"
	KindWebhook   = "webhook"
)

// ErrInvalidDestination: a stream URL accountd cannot send to.
var ErrInvalidDestination = errors.New("streams: invalid destination")

// Destination is where a stream sends, parsed from its URL:
//
//	nats://127.0.0.1:4222?subject=accountd.events[&stream=NAME][&ack=batch|each][&dedupe=10m]
//	amqp://guest:guest@127.0.0.1:5672/?exchange=accountd[&queue=NAME]
//	https://siem.example/hook (http:// only to a loopback address)
type Destination struct {
	Kind string
	// URL is the address to connect to, without accountd's own parameters.
	URL string
	// JetStream: the subject, the stream that captures it (created when none does), how
	// publishes are acknowledged, and the duplicate window of a stream accountd creates.
	Subject, JetStream string
	AckEach            bool
	Dedupe             time.Duration
	// AMQP: the durable topic exchange (routing key: the envelope's type) and, optionally,
	// a durable queue declared and bound to it with "#" so nothing is dropped before a
	// consumer binds one.
	Exchange, Queue string
}

// DefaultDedupeWindow is the duplicate window of the JetStream streams accountd creates:
// long enough to cover a broker restart, short enough for the server to keep the IDs.
const DefaultDedupeWindow = 10 * time.Minute

var (
	natsSubject = regexp.MustCompile(`^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*$`)
	natsStream  = regexp.MustCompile(`^[A-Za-z0-9_\-]+$`)
	amqpName    = regexp.MustCompile(`^[A-Za-z0-9_\-.:]+$`)
)

// ParseDestination reads a stream's URL.
func ParseDestination(raw string) (Destination, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return Destination{}, fmt.Errorf("%w %q: not a URL with a host", ErrInvalidDestination, Redact(raw))
	}
	q := u.Query()
	known := func(keys ...string) error {
		for k := range q {
			if !contains(keys, k) {
				return fmt.Errorf("%w %q: unknown parameter %q (want %s)", ErrInvalidDestination, Redact(raw), k, strings.Join(keys, ", "))
			}
		}
		return nil
	}
	strip := func() string {
		c := *u
		c.RawQuery = ""
		return c.String()
	}
	switch u.Scheme {
	case "nats":
		if err := known("subject", "stream", "ack", "dedupe"); err != nil {
			return Destination{}, err
		}
		d := Destination{Kind: KindJetStream, URL: strip(), Subject: q.Get("subject"), JetStream: q.Get("stream"), Dedupe: DefaultDedupeWindow}
		if !natsSubject.MatchString(d.Subject) {
			return Destination{}, fmt.Errorf("%w %q: subject=%q: want a literal NATS subject (letters, digits, - and _, dot-separated; no wildcards)", ErrInvalidDestination, Redact(raw), d.Subject)
		}
		if d.JetStream != "" && !natsStream.MatchString(d.JetStream) {
			return Destination{}, fmt.Errorf("%w %q: stream=%q: want letters, digits, - and _", ErrInvalidDestination, Redact(raw), d.JetStream)
		}
		switch q.Get("ack") {
		case "", "batch":
		case "each":
			d.AckEach = true
		default:
			return Destination{}, fmt.Errorf("%w %q: ack=%q: want batch or each", ErrInvalidDestination, Redact(raw), q.Get("ack"))
		}
		if v := q.Get("dedupe"); v != "" {
			if d.Dedupe, err = time.ParseDuration(v); err != nil || d.Dedupe < time.Second {
				return Destination{}, fmt.Errorf("%w %q: dedupe=%q: want a duration of at least 1s", ErrInvalidDestination, Redact(raw), v)
			}
		}
		return d, nil
	case "amqp", "amqps":
		if err := known("exchange", "queue"); err != nil {
			return Destination{}, err
		}
		d := Destination{Kind: KindAMQP, URL: strip(), Exchange: q.Get("exchange"), Queue: q.Get("queue")}
		if !amqpName.MatchString(d.Exchange) || strings.HasPrefix(d.Exchange, "amq.") {
			return Destination{}, fmt.Errorf("%w %q: exchange=%q: want a name of letters, digits, - _ . : not starting with amq.", ErrInvalidDestination, Redact(raw), d.Exchange)
		}
		if d.Queue != "" && (!amqpName.MatchString(d.Queue) || strings.HasPrefix(d.Queue, "amq.")) {
			return Destination{}, fmt.Errorf("%w %q: queue=%q: want a name of letters, digits, - _ . : not starting with amq.", ErrInvalidDestination, Redact(raw), d.Queue)
		}
		return d, nil
	case "https":
		return Destination{Kind: KindWebhook, URL: u.String()}, nil
	case "http":
		if !isLoopback(u.Hostname()) {
			return Destination{}, fmt.Errorf("%w %q: plain http:// is only for a loopback address; use https://", ErrInvalidDestination, Redact(raw))
		}
		return Destination{Kind: KindWebhook, URL: u.String()}, nil
	}
	return Destination{}, fmt.Errorf("%w %q: want nats://, amqp://, amqps:// or https://", ErrInvalidDestination, Redact(raw))
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Redact hides a URL's password, for logs and the admin API.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// String is the destination as logs and the admin API show it (no password).
func (d Destination) String() string {
	switch d.Kind {
	case KindJetStream:
		return fmt.Sprintf("%s subject %s", d.URL, d.Subject)
	case KindAMQP:
		return fmt.Sprintf("%s exchange %s", Redact(d.URL), d.Exchange)
	}
	return Redact(d.URL)
}
