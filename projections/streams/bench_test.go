package streams_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"accountd/domain"
	"accountd/eventstore"
	"accountd/eventstore/eventlog"
	"accountd/eventstore/sqlite"
	"accountd/projections/streams"
)

// TestJetStreamThroughputAndLag is the streams' load tool, off by default:
//
//	ACCOUNTD_STREAM_BENCH=1 ACCOUNTD_TEST_NATS_URL=nats://127.0.0.1:4222 \
//	  go test -count=1 -run TestJetStreamThroughputAndLag -v ./projections/streams/
//
// Throughput: one stream catches up with a SQLite log of ACCOUNTD_STREAM_BENCH_EVENTS
// (default 200,000) sign-in events, with ack=batch (the default) and with ack=each
// (watermill-nats's own publisher), beside a reference measured in the same run: the same
// envelopes published straight to JetStream, asynchronously, by nats.go alone.
// Lag: the log grows at ACCOUNTD_STREAM_BENCH_RATE events/s (default 5,000) for
// ACCOUNTD_STREAM_BENCH_SECONDS (default 20) while a JetStream consumer takes each envelope;
// the lag of an event is from its append being issued to the consumer receiving it.
func TestJetStreamThroughputAndLag(t *testing.T) {
	if os.Getenv("ACCOUNTD_STREAM_BENCH") == "" {
		t.Skip("set ACCOUNTD_STREAM_BENCH=1 to run the streams' load test")
	}
	server := natsURL(t)
	events := envInt("ACCOUNTD_STREAM_BENCH_EVENTS", 200_000)
	store := benchLog(t, events)
	head, _ := store.HeadPosition(t.Context())

	rate := func(name string, ackEach bool, n uint64) float64 {
		subject, stream, _ := jetStreamTarget(t, server)
		cfg := jetStreamConfig(t, name, server, subject, stream)
		cfg.Destination.AckEach = ackEach
		if ackEach { // a part of the log is enough to measure one acknowledgement per event
			cfg.Filter.Types = nil
		}
		start := time.Now()
		set := openSet(t, store, t.TempDir(), time.Now, cfg)
		s, _ := set.Stream(name)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if err := s.WaitFor(ctx, n); err != nil {
			t.Fatal(err)
		}
		return float64(n) / time.Since(start).Seconds()
	}
	batch := rate("bench-batch", false, head)
	each := rate("bench-each", true, min(head, 20_000))
	raw := rawJetStreamRate(t, server, store, head)
	t.Logf("JetStream, one stream, %d events: ack=batch %.0f events/s, ack=each (watermill-nats Publisher) %.0f events/s, reference (nats.go async publish of the same envelopes, no accountd) %.0f events/s; ack=batch/reference %.2f, ack=each/ack=batch %.2f",
		head, batch, each, raw, batch/raw, each/batch)

	lagUnderLoad(t, server)
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// benchLog is a SQLite log of n sign-in failures over 1,000 accounts, appended 100 at a time.
func benchLog(t *testing.T, n int) eventstore.Store {
	t.Helper()
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "events.db"), sqlite.WithSynchronous(sqlite.Normal))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	at := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	for i := 0; i < n; i += 100 {
		stream := domain.AccountStream(fmt.Sprintf("bench-%d", (i/100)%1000))
		evs := make([]domain.Event, min(100, n-i))
		for j := range evs {
			evs[j] = domain.Event{At: at, Data: domain.LoginFailed{Origin: domain.Origin{IP: "192.0.2.1", UserAgent: "Mozilla/5.0", DeviceID: "desk"}, Reason: "wrong_password", FailedAttempts: j%5 + 1}}
		}
		data, err := eventlog.Encode(stream, domain.Metadata{CommandID: eventlog.NewCommandID()}, evs)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Append(t.Context(), stream, eventstore.Any, data...); err != nil {
			t.Fatal(err)
		}
	}
	return store
}

// rawJetStreamRate publishes envelopes of the log's events straight to JetStream with
// nats.go's async publish and a wait for every acknowledgement, 512 at a time: the ceiling
// accountd's stream is measured against.
func rawJetStreamRate(t *testing.T, server string, store eventstore.Store, n uint64) float64 {
	subject, stream, js := jetStreamTarget(t, server)
	if _, err := js.AddStream(&nats.StreamConfig{Name: stream, Subjects: []string{subject}, Duplicates: streams.DefaultDedupeWindow}); err != nil {
		t.Fatal(err)
	}
	recs, err := store.ReadAll(t.Context(), 0, int(n))
	if err != nil {
		t.Fatal(err)
	}
	bodies := make([][]byte, len(recs))
	for i, r := range recs {
		bodies[i], _ = json.Marshal(map[string]any{"specversion": "1.0", "id": r.ID.String(), "type": "accountd." + r.Type, "data": json.RawMessage(r.Data)})
	}
	start := time.Now()
	for i := 0; i < len(recs); i += 512 {
		var futures []nats.PubAckFuture
		for j := i; j < min(i+512, len(recs)); j++ {
			m := nats.NewMsg(subject)
			m.Data = bodies[j]
			m.Header.Set(nats.MsgIdHdr, recs[j].ID.String())
			f, err := js.PublishMsgAsync(m)
			if err != nil {
				t.Fatal(err)
			}
			futures = append(futures, f)
		}
		for _, f := range futures {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				t.Fatal(err)
			}
		}
	}
	return float64(len(recs)) / time.Since(start).Seconds()
}

// lagUnderLoad appends at a steady rate while a JetStream consumer reads the stream.
func lagUnderLoad(t *testing.T, server string) {
	rate := envInt("ACCOUNTD_STREAM_BENCH_RATE", 5000)
	seconds := envInt("ACCOUNTD_STREAM_BENCH_SECONDS", 20)
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "events.db"), sqlite.WithSynchronous(sqlite.Normal))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	subject, stream, js := jetStreamTarget(t, server)
	set := openSet(t, store, t.TempDir(), time.Now, jetStreamConfig(t, "lag", server, subject, stream))
	total := rate * seconds
	issued := make(map[string]time.Time, total) // by event ID, noted before the append
	var mu sync.Mutex
	lags := make([]time.Duration, 0, total)
	received := make(chan struct{})

	// The consumer starts once the stream exists (the first append creates it).
	at := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	appendOne := func(i int) {
		stream := domain.AccountStream(fmt.Sprintf("lag-%d", i%500))
		data, _ := eventlog.Encode(stream, domain.Metadata{CommandID: eventlog.NewCommandID()},
			[]domain.Event{{At: at, Data: domain.LoginFailed{Origin: domain.Origin{IP: "192.0.2.1"}, Reason: "wrong_password", FailedAttempts: 1}}})
		mu.Lock()
		issued[data[0].ID.String()] = time.Now()
		mu.Unlock()
		if _, err := store.Append(context.Background(), stream, eventstore.Any, data...); err != nil {
			t.Error(err)
		}
	}
	appendOne(0)
	caughtUp(t, set, "lag", store)
	var first string
	for id := range issued {
		first = id // the one event appended before the consumer started
	}
	sub, err := js.Subscribe(subject, func(m *nats.Msg) {
		now := time.Now()
		id := m.Header.Get(nats.MsgIdHdr)
		mu.Lock()
		if at, ok := issued[id]; ok && id != first {
			lags = append(lags, now.Sub(at))
		}
		n := len(lags)
		mu.Unlock()
		if n == total-1 {
			close(received)
		}
	}, nats.BindStream(stream), nats.DeliverNew(), nats.AckNone())
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()

	// Paced writers: each issues its share of appends on its own ticker.
	const writers = 32
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) * writers / float64(rate))
	start := time.Now()
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(interval)
			defer tick.Stop()
			for i := 1 + w; i < total; i += writers {
				<-tick.C
				appendOne(i)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	select {
	case <-received:
	case <-time.After(60 * time.Second):
		mu.Lock()
		t.Fatalf("only %d of %d envelopes reached the consumer", len(lags), total-1)
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(lags)
	q := func(p float64) time.Duration { return lags[int(p*float64(len(lags)-1))].Round(100 * time.Microsecond) }
	t.Logf("lag while the log grows at %.0f events/s for %s (%d events): p50 %s, p99 %s, max %s (append issued -> JetStream consumer received)",
		float64(total-1)/elapsed.Seconds(), elapsed.Round(time.Millisecond), len(lags), q(0.5), q(0.99), lags[len(lags)-1])
}
