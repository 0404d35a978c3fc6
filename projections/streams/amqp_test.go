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
	exchange, queue, ch := amqpTarget(t, server)
	d, err := streams.ParseDestination(fmt.Sprintf("%s?exchange=%s&queue=%s", server, exchange, queue))
	if err != nil {
		t.Fatal(err)
	}
	set := openSet(t, f.store, t.TempDir(), time.Now, streams.Config{Name: "billing", Destination: d, RetryFirst: 20 * time.Millisecond})
	caughtUp(t, set, "billing", f.store)

	head, _ := f.store.HeadPosition(t.Context())
	got := queued(t, ch, queue, head, false, func(m amqp091.Delivery, env streams.Envelope) {
		if m.MessageId != env.ID || m.RoutingKey != env.Type || m.ContentType != streams.ContentType || m.DeliveryMode != amqp091.Persistent {
			t.Fatalf("AMQP message: id %q key %q type %q mode %d for envelope %s %s", m.MessageId, m.RoutingKey, m.ContentType, m.DeliveryMode, env.ID, env.Type)
		}
	})
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
	exchange, queue, ch := amqpTarget(t, server)
	d, err := streams.ParseDestination(fmt.Sprintf("%s?exchange=%s&queue=%s", viaProxy.String(), exchange, queue))
	if err != nil {
		t.Fatal(err)
	}
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
	allOnceInOrder(t, f.store, queued(t, ch, queue, head, true, nil))
}

// amqpTarget names an exchange and a queue of the test's own (other tests share the broker),
// deletes them when the test ends, and returns a channel to read the queue with.
func amqpTarget(t *testing.T, server string) (exchange, queue string, ch *amqp091.Channel) {
	t.Helper()
	exchange, queue = unique("accountd-test-"), unique("accountd-test-q-")
	conn, err := amqp091.Dial(server)
	if err != nil {
		t.Fatal(err)
	}
	ch, err = conn.Channel()
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ch.QueueDelete(queue, false, false, false)
		ch.ExchangeDelete(exchange, false, false)
		conn.Close()
	})
	return exchange, queue, ch
}

// queued reads n envelopes from queue, acknowledging each and checking each message with
// check (nil: none). With dropRepeats, an envelope repeated right after itself (a publish
// whose confirm was lost in an outage, sent again) is read once, as a receiver dropping
// duplicates by id would; without it every repeat counts.
func queued(t *testing.T, ch *amqp091.Channel, queue string, n uint64, dropRepeats bool, check func(amqp091.Delivery, streams.Envelope)) []streams.Envelope {
	t.Helper()
	deliveries, err := ch.Consume(queue, "", false, true, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []streams.Envelope
	timeout := time.After(30 * time.Second)
	for uint64(len(got)) < n {
		select {
		case m := <-deliveries:
			var env streams.Envelope
			if err := json.Unmarshal(m.Body, &env); err != nil {
				t.Fatal(err)
			}
			if check != nil {
				check(m, env)
			}
			m.Ack(false)
			if k := len(got); dropRepeats && k > 0 && got[k-1].ID == env.ID {
				continue
			}
			got = append(got, env)
		case <-timeout:
			t.Fatalf("%d of %d envelopes arrived", len(got), n)
		}
	}
	return got
}
