package streams

import (
	"context"
	"errors"
	"fmt"

	wmamqp "github.com/ThreeDotsLabs/watermill-amqp/v3/pkg/amqp"
	"github.com/ThreeDotsLabs/watermill/message"
	amqp091 "github.com/rabbitmq/amqp091-go"
)

// amqpPublisher sends envelopes to a durable topic exchange with publisher confirms: a
// message counts as published once RabbitMQ has confirmed it (persistent), and only then
// does the checkpoint move. The routing key is the envelope's type
// (accountd.login_failed.v1), so a queue can bind "accountd.login_*.#" or "#"; the AMQP
// message-id is the event ID.
//
// Messages are turned into AMQP publishings by watermill-amqp's marshaler, but the
// connection is amqp091's own: watermill-amqp's ConnectionWrapper reassigns its
// `connected` channel from its reconnect goroutine while Publish reads it (a data race the
// race detector reports on every broker outage: ThreeDotsLabs/watermill#693, open in
// v3.1.0 too). The stream already closes a failed publisher and opens a fresh one on its
// retry schedule, so the wrapper's reconnect loop adds nothing here.
type amqpPublisher struct {
	conn     *amqp091.Connection
	ch       *amqp091.Channel
	exchange string
	marshal  wmamqp.DefaultMarshaler
}

func openAMQP(d Destination) (*amqpPublisher, error) {
	conn, err := amqp091.Dial(d.URL)
	if err != nil {
		return nil, fmt.Errorf("amqp %s: %w", Redact(d.URL), err)
	}
	p := &amqpPublisher{conn: conn, exchange: d.Exchange, marshal: wmamqp.DefaultMarshaler{
		PostprocessPublishing: func(p amqp091.Publishing) amqp091.Publishing {
			p.ContentType = ContentType
			if id, ok := p.Headers[wmamqp.DefaultMessageUUIDHeaderKey].(string); ok {
				p.MessageId = id
			}
			if c, ok := p.Headers[correlationKey].(string); ok {
				p.CorrelationId = c
			}
			return p
		}}}
	if err := p.declare(d); err != nil {
		conn.Close()
		return nil, err
	}
	return p, nil
}

// declare makes the exchange (and, when one is named, a durable queue bound to every
// routing key, so what the stream sends is kept even before any consumer runs) and puts the
// channel in confirm mode.
func (p *amqpPublisher) declare(d Destination) error {
	ch, err := p.conn.Channel()
	if err != nil {
		return fmt.Errorf("amqp: channel: %w", err)
	}
	if err := ch.ExchangeDeclare(d.Exchange, "topic", true, false, false, false, nil); err != nil {
		return fmt.Errorf("amqp: declare exchange %s: %w", d.Exchange, err)
	}
	if d.Queue != "" {
		if _, err := ch.QueueDeclare(d.Queue, true, false, false, false, nil); err != nil {
			return fmt.Errorf("amqp: declare queue %s: %w", d.Queue, err)
		}
		if err := ch.QueueBind(d.Queue, "#", d.Exchange, false, nil); err != nil {
			return fmt.Errorf("amqp: bind queue %s: %w", d.Queue, err)
		}
	}
	if err := ch.Confirm(false); err != nil {
		return fmt.Errorf("amqp: confirm mode: %w", err)
	}
	p.ch = ch
	return nil
}

// PublishPrefix publishes one message at a time (each confirmed before the next, which keeps
// the order) and reports how many were confirmed.
func (p *amqpPublisher) PublishPrefix(msgs []*message.Message) (int, error) {
	for i, m := range msgs {
		if err := p.publishOne(m.Context(), m); err != nil {
			return i, fmt.Errorf("amqp: %w", err)
		}
	}
	return len(msgs), nil
}

var errNacked = errors.New("broker refused the message (nack)")

func (p *amqpPublisher) publishOne(ctx context.Context, m *message.Message) error {
	pub, err := p.marshal.Marshal(m)
	if err != nil {
		return fmt.Errorf("%w: %w", errPermanent, err)
	}
	conf, err := p.ch.PublishWithDeferredConfirmWithContext(ctx, p.exchange, m.Metadata.Get(typeKey), false, false, pub)
	if err != nil {
		return err
	}
	ok, err := conf.WaitContext(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return errNacked
	}
	return nil
}

func (p *amqpPublisher) Close() error { return p.conn.Close() }

// Publish is message.Publisher's form; the routing key is each message's type, not topic.
func (p *amqpPublisher) Publish(_ string, msgs ...*message.Message) error {
	_, err := p.PublishPrefix(msgs)
	return err
}
