package streams

import (
	"fmt"

	"github.com/ThreeDotsLabs/watermill"
	wmamqp "github.com/ThreeDotsLabs/watermill-amqp/v3/pkg/amqp"
	"github.com/ThreeDotsLabs/watermill/message"
	amqp091 "github.com/rabbitmq/amqp091-go"
)

// amqpPublisher sends envelopes to a durable topic exchange through watermill-amqp, with
// publisher confirms: Publish returns once RabbitMQ has taken the message (persistent), and
// only then does the checkpoint move. The routing key is the envelope's type
// (accountd.login_failed.v1), so a queue can bind "accountd.login_*.#" or "#"; the AMQP
// message-id is the event ID.
type amqpPublisher struct {
	pub *wmamqp.Publisher
}

func openAMQP(d Destination) (*amqpPublisher, error) {
	cfg := wmamqp.Config{
		Connection: wmamqp.ConnectionConfig{AmqpURI: d.URL, Reconnect: wmamqp.DefaultReconnectConfig()},
		Marshaler: wmamqp.DefaultMarshaler{PostprocessPublishing: func(p amqp091.Publishing) amqp091.Publishing {
			p.ContentType = ContentType
			if id, ok := p.Headers[wmamqp.DefaultMessageUUIDHeaderKey].(string); ok {
				p.MessageId = id
			}
			if c, ok := p.Headers[correlationKey].(string); ok {
				p.CorrelationId = c
			}
			return p
		}},
		Exchange: wmamqp.ExchangeConfig{GenerateName: wmamqp.GenerateExchangeNameConstant(d.Exchange), Type: "topic", Durable: true},
		Publish: wmamqp.PublishConfig{
			GenerateRoutingKey: func(topic string) string { return topic },
			ConfirmDelivery:    true,
			ChannelPoolSize:    1,
		},
		TopologyBuilder: &wmamqp.DefaultTopologyBuilder{},
	}
	pub, err := wmamqp.NewPublisher(cfg, watermill.NopLogger{})
	if err != nil {
		return nil, fmt.Errorf("amqp %s: %w", Redact(d.URL), err)
	}
	if d.Queue != "" {
		if err := declareQueue(pub.Connection(), d); err != nil {
			pub.Close()
			return nil, err
		}
	}
	return &amqpPublisher{pub: pub}, nil
}

// declareQueue makes the exchange and a durable queue bound to every routing key, so what
// the stream sends is kept even before any consumer runs.
func declareQueue(conn *amqp091.Connection, d Destination) error {
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("amqp: channel: %w", err)
	}
	defer ch.Close()
	if err := ch.ExchangeDeclare(d.Exchange, "topic", true, false, false, false, nil); err != nil {
		return fmt.Errorf("amqp: declare exchange %s: %w", d.Exchange, err)
	}
	if _, err := ch.QueueDeclare(d.Queue, true, false, false, false, nil); err != nil {
		return fmt.Errorf("amqp: declare queue %s: %w", d.Queue, err)
	}
	if err := ch.QueueBind(d.Queue, "#", d.Exchange, false, nil); err != nil {
		return fmt.Errorf("amqp: bind queue %s: %w", d.Queue, err)
	}
	return nil
}

// PublishPrefix publishes one message at a time (each confirmed before the next, which keeps
// the order) and reports how many were confirmed.
func (p *amqpPublisher) PublishPrefix(msgs []*message.Message) (int, error) {
	for i, m := range msgs {
		if err := p.pub.Publish(m.Metadata.Get(typeKey), m); err != nil {
			return i, fmt.Errorf("amqp: %w", err)
		}
	}
	return len(msgs), nil
}

func (p *amqpPublisher) Close() error { return p.pub.Close() }

// Publish is message.Publisher's form; the routing key is each message's type, not topic.
func (p *amqpPublisher) Publish(_ string, msgs ...*message.Message) error {
	_, err := p.PublishPrefix(msgs)
	return err
}
