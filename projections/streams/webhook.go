package streams

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

// SignatureHeader carries a webhook request's signature: t=UNIX_SECONDS,v1=HEX, where HEX is
// HMAC-SHA256, keyed with the stream's secret, over the decimal t, a dot, and the body.
const SignatureHeader = "X-Accountd-Signature"

// webhookTimeout bounds one POST: a receiver that hangs counts as a failure.
const webhookTimeout = 10 * time.Second

// Sign returns the signature header value of body sent at t.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// ErrBadSignature: a webhook request whose signature does not verify.
var ErrBadSignature = errors.New("streams: bad webhook signature")

// Verify checks a signature header against body, as a receiver does: the MAC must match and
// t must be within tolerance of now (against replays of old requests).
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return fmt.Errorf("%w: want t=UNIX_SECONDS,v1=HEX", ErrBadSignature)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: signed %s away from now", ErrBadSignature, d.Round(time.Second))
	}
	want := mac(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			return nil
		}
	}
	return fmt.Errorf("%w: no v1 signature matches", ErrBadSignature)
}

// webhookPublisher POSTs one envelope per request. Any 2xx is delivered; anything else,
// a redirect included, is a failure for the stream's retry and pause.
type webhookPublisher struct {
	url    string
	secret []byte
	client *http.Client
}

// newWebhook signs with the machine's clock, not the injected domain clock: the receiver
// judges the signature's age against its own wall clock.
func newWebhook(d Destination, secret []byte) *webhookPublisher {
	return &webhookPublisher{url: d.URL, secret: secret, client: &http.Client{
		Timeout:       webhookTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (w *webhookPublisher) PublishPrefix(msgs []*message.Message) (int, error) {
	for i, m := range msgs {
		if err := w.post(m.Context(), m); err != nil {
			return i, err
		}
	}
	return len(msgs), nil
}

func (w *webhookPublisher) post(ctx context.Context, m *message.Message) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(m.Payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", ContentType)
	req.Header.Set("User-Agent", "accountd-streams")
	req.Header.Set(SignatureHeader, Sign(w.secret, time.Now(), m.Payload))
	resp, err := w.client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook: %s answered %d", Redact(w.url), resp.StatusCode)
	}
	return nil
}

func (w *webhookPublisher) Close() error {
	w.client.CloseIdleConnections()
	return nil
}

// Publish is message.Publisher's form: every message goes to the one URL.
func (w *webhookPublisher) Publish(_ string, msgs ...*message.Message) error {
	_, err := w.PublishPrefix(msgs)
	return err
}
