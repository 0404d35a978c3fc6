package streams_test

import (
	"encoding/json"
	"fmt"
	"net/url"
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

// TestAMQPDownPausesTheStreamAndItCatchesUpWhenBack cuts the network between accountd and
// RabbitMQ: the stream pauses (the server goes on), and once the broker is reachable again it
// resumes by itself and everything arrives in order, a re-send only with the same id.
func TestAMQPDownPausesTheStreamAndItCatchesUpWhenBack(t *testing.T) {
	server := amqpURL(t)
	f := newLog(t)
	f.story(t)
	u, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newCutProxy(t, u.Host)
	viaProxy := *u
	viaProxy.Host = proxy.addr
	exchange, queue := unique("accountd-test-"), unique("accountd-test-q-")
	d, err := streams.ParseDestination(fmt.Sprintf("%s?exchange=%s&queue=%s", viaProxy.String(), exchange, queue))
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
	set := openSet(t, f.store, t.TempDir(), time.Now, streams.Config{Name: "pms", Destination: d, RetryFirst: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond, PauseAfter: 3})
	caughtUp(t, set, "pms", f.store)

	proxy.down()
	logins(t, f.store, 40, f.now) // the log goes on while RabbitMQ is unreachable
	until(t, "the stream to pause", 30*time.Second, func() bool { l, _ := set.List(t.Context()); return l[0].Paused })
	proxy.up()
	caughtUp(t, set, "pms", f.store)
	if l, _ := set.List(t.Context()); l[0].Paused || l[0].Lag != 0 {
		t.Fatalf("after catching up: %+v", l[0])
	}

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
			m.Ack(false)
			// A publish whose confirm was lost in the cut is sent again: the receiver
			// recognises it by its id, right after the original.
			if n := len(got); n > 0 && got[n-1].ID == env.ID {
				continue
			}
			got = append(got, env)
		case <-timeout:
			t.Fatalf("%d of %d envelopes arrived", len(got), head)
		}
	}
	allOnceInOrder(t, f.store, got)
}
