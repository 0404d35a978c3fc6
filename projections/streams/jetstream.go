package streams

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
)

// jetStreamAckWait bounds how long a batch waits for JetStream's acknowledgements.
const jetStreamAckWait = 5 * time.Second

// jetStreamPublisher sends envelopes to a JetStream subject with Nats-Msg-Id set to the
// event ID, so the server drops a re-send it already stored (within its duplicate window).
//
// With ack=batch (the default) a batch is published asynchronously and the publisher waits
// for every acknowledgement; the stream's checkpoint then moves past the acknowledged
// prefix only. Order holds because one connection carries the batch in order and nothing
// is buffered across a reconnect (ReconnectBufSize -1): a publish while disconnected fails
// at once, and the batch stops at its first failure. With ack=each, watermill-nats's own
// publisher waits for each acknowledgement before the next publish: the same wire format,
// about a quarter of the throughput (BENCHMARKS.md).
type jetStreamPublisher struct {
	nc         *nats.Conn
	js         nats.JetStreamContext
	each       *wmnats.Publisher // ack=each
	marshaler  wmnats.NATSMarshaler
	subject    string
	stream     string
	duplicates *atomic.Uint64 // re-sends JetStream recognised and dropped (the stream's counter)
	reconnects atomic.Uint64
}

func openJetStream(ctx context.Context, name string, d Destination, duplicates *atomic.Uint64) (*jetStreamPublisher, error) {
	p := &jetStreamPublisher{subject: d.Subject, duplicates: duplicates}
	nc, err := nats.Connect(d.URL, nats.Name("accountd stream "+name), nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond), nats.ReconnectBufSize(-1), nats.Timeout(3*time.Second),
		nats.DisconnectErrHandler(func(*nats.Conn, error) { p.reconnects.Add(1) }))
	if err != nil {
		return nil, fmt.Errorf("nats %s: %w", d.URL, err)
	}
	p.nc = nc
	if p.js, err = nc.JetStream(nats.Context(ctx)); err != nil {
		nc.Close()
		return nil, fmt.Errorf("nats %s: jetstream: %w", d.URL, err)
	}
	if p.stream, err = ensureJetStream(ctx, p.js, name, d); err != nil {
		nc.Close()
		return nil, err
	}
	if d.AckEach {
		p.each, err = wmnats.NewPublisherWithNatsConn(nc, wmnats.PublisherPublishConfig{
			Marshaler: &wmnats.NATSMarshaler{}, SubjectCalculator: wmnats.DefaultSubjectCalculator,
			JetStream: wmnats.JetStreamConfig{TrackMsgId: true},
		}, watermill.NopLogger{})
		if err != nil {
			nc.Close()
			return nil, err
		}
	}
	return p, nil
}

// ensureJetStream finds the stream that captures the subject, or creates one.
func ensureJetStream(ctx context.Context, js nats.JetStreamContext, name string, d Destination) (string, error) {
	found, err := js.StreamNameBySubject(d.Subject, nats.Context(ctx))
	switch {
	case err == nil:
		if d.JetStream != "" && d.JetStream != found {
			return "", fmt.Errorf("nats: subject %s is captured by JetStream stream %s, not %s", d.Subject, found, d.JetStream)
		}
		return found, nil
	case !errors.Is(err, nats.ErrStreamNotFound) && !strings.Contains(err.Error(), "no stream matches subject"):
		return "", fmt.Errorf("nats: which stream captures %s: %w", d.Subject, err)
	}
	stream := d.JetStream
	if stream == "" {
		stream = defaultJetStreamName(name)
	}
	if _, err := js.AddStream(&nats.StreamConfig{
		Name: stream, Subjects: []string{d.Subject}, Storage: nats.FileStorage, Duplicates: d.Dedupe,
		Description: "accountd log stream " + name,
	}, nats.Context(ctx)); err != nil {
		return "", fmt.Errorf("nats: create JetStream stream %s for %s: %w", stream, d.Subject, err)
	}
	return stream, nil
}

// defaultJetStreamName is ACCOUNTD_ and the stream's name, in JetStream's alphabet.
func defaultJetStreamName(name string) string {
	var b strings.Builder
	b.WriteString("ACCOUNTD_")
	for _, r := range strings.ToUpper(name) {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteRune('_')
		}
	}
	return b.String()
}

// Publish sends every message, in order, and returns once JetStream acknowledged them all.
func (p *jetStreamPublisher) Publish(topic string, msgs ...*message.Message) error {
	_, err := p.PublishPrefix(msgs)
	return err
}

// PublishPrefix publishes msgs in order and reports how many of the first ones JetStream
// acknowledged before the first failure.
func (p *jetStreamPublisher) PublishPrefix(msgs []*message.Message) (int, error) {
	if p.each != nil {
		for i, m := range msgs {
			if err := p.each.Publish(p.subject, m); err != nil {
				return i, err
			}
		}
		return len(msgs), nil
	}
	gen := p.reconnects.Load()
	futures := make([]nats.PubAckFuture, 0, len(msgs))
	var sendErr error
	for _, m := range msgs {
		if p.reconnects.Load() != gen {
			sendErr = errors.New("nats: connection lost during the batch")
			break
		}
		nm, err := p.marshaler.Marshal(p.subject, m)
		if err != nil {
			sendErr = err
			break
		}
		nm.Header.Set(nats.MsgIdHdr, m.UUID)
		f, err := p.js.PublishMsgAsync(nm)
		if err != nil {
			sendErr = err
			break
		}
		futures = append(futures, f)
	}
	timeout := time.NewTimer(jetStreamAckWait)
	defer timeout.Stop()
	for i, f := range futures {
		select {
		case ack := <-f.Ok():
			if ack.Duplicate {
				p.duplicates.Add(1)
			}
		case err := <-f.Err():
			return i, fmt.Errorf("nats: publish to %s: %w", p.subject, err)
		case <-timeout.C:
			return i, fmt.Errorf("nats: publish to %s: no acknowledgement within %s", p.subject, jetStreamAckWait)
		}
	}
	if sendErr != nil {
		return len(futures), fmt.Errorf("nats: publish to %s: %w", p.subject, sendErr)
	}
	return len(futures), nil
}

func (p *jetStreamPublisher) Close() error {
	p.nc.Close()
	return nil
}
