package streams_test

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"accountd/projections/streams"
)

func amqpURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("ACCOUNTD_TEST_AMQP_URL")
	if u == "" {
		t.Skip("ACCOUNTD_TEST_AMQP_URL not set: no RabbitMQ to test against (.ci/run sets it)")
	}
	conn, err := amqp091.Dial(u)
	if err != nil {
		t.Skipf("RabbitMQ at %s unreachable: %v", streams.Redact(u), err)
	}
	conn.Close()
	return u
}

func TestAMQPEveryEventOnceInOrder(t *testing.T) {
	server := amqpURL(t)
	f := newLog(t)
	f.story(t)
	logins(t, f.store, 300, f.now)
	exchange, queue := unique("accountd-test-"), unique("accountd-test-q-")
	d, err := streams.ParseDestination(fmt.Sprintf("%s?exchange=%s&queue=%s", server, exchange, queue))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := amqp091.Dial(server)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ch.QueueDelete(queue, false, false, false)
		ch.ExchangeDelete(exchange, false, false)
	})
	set := openSet(t, f.store, t.TempDir(), time.Now, streams.Config{Name: "billing", Destination: d, RetryFirst: 20 * time.Millisecond})
	caughtUp(t, set, "billing", f.store)

	head, _ := f.store.HeadPosition(t.Context())
	deliveries, err := ch.Consume(queue, "", false, true, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []streams.Envelope
	timeout := time.After(30 * time.Second)
	for uint64(len(got)) < head {
		select {
		case m := <-deliveries:
			var env streams.Envelope
			if err := json.Unmarshal(m.Body, &env); err != nil {
				t.Fatal(err)
			}
			if m.MessageId != env.ID || m.RoutingKey != env.Type || m.ContentType != streams.ContentType || m.DeliveryMode != amqp091.Persistent {
				t.Fatalf("AMQP message: id %q key %q type %q mode %d for envelope %s %s", m.MessageId, m.RoutingKey, m.ContentType, m.DeliveryMode, env.ID, env.Type)
			}
			got = append(got, env)
			m.Ack(false)
		case <-timeout:
			t.Fatalf("%d of %d envelopes arrived", len(got), head)
		}
	}
	allOnceInOrder(t, f.store, got)
}
