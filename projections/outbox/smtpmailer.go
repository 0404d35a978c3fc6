package outbox

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"time"
)

// SMTPConfig configures the SMTP mailer.
type SMTPConfig struct {
	Addr     string // host:port of the submission server
	Username string // empty: no authentication
	Password string
	From     string // envelope sender, and the From header of a message that has none
	StartTLS bool   // require STARTTLS before authenticating and sending
	// TLSConfig is optional; nil verifies the server against the system roots under the
	// host name of Addr.
	TLSConfig *tls.Config
	// Timeout bounds one delivery when the context has no deadline (default 30 s).
	Timeout time.Duration
}

// SMTPMailer delivers through an SMTP submission server with net/smtp, one connection per
// message. Each message carries a Message-ID derived from its ID (MessageIDHeader), so a
// re-send after a crash can be recognised by receivers.
type SMTPMailer struct {
	cfg  SMTPConfig
	host string
	from string // envelope sender address
}

var _ Mailer = (*SMTPMailer)(nil)

// NewSMTPMailer checks the configuration; it does not connect.
func NewSMTPMailer(cfg SMTPConfig) (*SMTPMailer, error) {
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("outbox: smtp address %q: %w", cfg.Addr, err)
	}
	from, err := parseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("outbox: smtp sender: %w", err)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	return &SMTPMailer{cfg: cfg, host: host, from: from.Address}, nil
}

// Send delivers one message.
func (s *SMTPMailer) Send(ctx context.Context, m Message) error {
	if m.From == "" {
		m.From = s.cfg.From
	}
	body, err := render(m)
	if err != nil {
		return err
	}
	rcpts := make([]string, len(m.To))
	for i, r := range m.To {
		a, err := parseAddress(r)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrPermanent, err)
		}
		rcpts[i] = a.Address
	}

	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.Timeout)
		defer cancel()
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("outbox: smtp dial: %w", err)
	}
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	// Cancelling ctx interrupts a blocked read or write.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		conn.Close()
		return s.fail(ctx, "greeting", err)
	}
	defer c.Close()
	if s.cfg.StartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return errors.New("outbox: smtp server does not offer STARTTLS")
		}
		tc := s.cfg.TLSConfig
		if tc == nil {
			tc = &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12}
		}
		if err := c.StartTLS(tc); err != nil {
			return s.fail(ctx, "starttls", err)
		}
	}
	if s.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, s.host)); err != nil {
			return s.fail(ctx, "auth", err)
		}
	}
	if err := c.Mail(s.from); err != nil {
		return s.fail(ctx, "MAIL FROM", err)
	}
	for _, r := range rcpts {
		if err := c.Rcpt(r); err != nil {
			return s.fail(ctx, "RCPT TO", err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return s.fail(ctx, "DATA", err)
	}
	if _, err := w.Write(body); err != nil {
		w.Close()
		return s.fail(ctx, "DATA", err)
	}
	if err := w.Close(); err != nil {
		return s.fail(ctx, "DATA", err)
	}
	// The server accepted the message at the end of DATA: a failed QUIT loses nothing.
	_ = c.Quit()
	return nil
}

// fail names the step that failed; a 5xx reply is permanent (ErrPermanent), anything else
// (4xx, network) is worth retrying.
func (s *SMTPMailer) fail(ctx context.Context, step string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("outbox: smtp %s: %w (%v)", step, ctxErr, err)
	}
	var reply *textproto.Error
	if errors.As(err, &reply) && reply.Code >= 500 && reply.Code < 600 {
		return fmt.Errorf("outbox: smtp %s: %w: %w", step, ErrPermanent, err)
	}
	return fmt.Errorf("outbox: smtp %s: %w", step, err)
}
