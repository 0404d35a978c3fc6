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

// BenchmarkJetStreamPublish measures one stream catching up with a SQLite log of
// ACCOUNTD_STREAM_BENCH_EVENTS (default 200,000) sign-in events, with ack=batch (the
// default) and with ack=each (watermill-nats's own publisher), beside a reference measured
// in the same run: the same envelopes published straight to JetStream, asynchronously, by
// nats.go alone. The target (20,000 events/s) is read from the report, not asserted:
//
//	ACCOUNTD_TEST_NATS_URL=nats://127.0.0.1:4222 go test -run '^$' -bench JetStreamPublish -benchtime 1x -v ./projections/streams/
func BenchmarkJetStreamPublish(b *testing.B) {
	server := natsURL(b)
	store := benchLog(b, envInt("ACCOUNTD_STREAM_BENCH_EVENTS", 200_000))
	head, _ := store.HeadPosition(b.Context())
	for b.Loop() {
		batch := publishRate(b, server, store, "bench-batch", false, head)
		each := publishRate(b, server, store, "bench-each", true, min(head, 20_000))
		raw := rawJetStreamRate(b, server, store, head)
		b.ReportMetric(batch, "batch-events/s")
		b.ReportMetric(each, "each-events/s")
		b.ReportMetric(raw, "reference-events/s")
		b.ReportMetric(batch/raw, "batch/reference")
	}
}

// publishRate is how fast a new stream sends the first n events of the log.
func publishRate(b *testing.B, server string, store eventstore.Store, name string, ackEach bool, n uint64) float64 {
	subject, stream, _ := jetStreamTarget(b, server)
	cfg := jetStreamConfig(b, name, server, subject, stream)
	cfg.Destination.AckEach = ackEach
	start := time.Now()
	set := openSet(b, store, b.TempDir(), time.Now, cfg)
	s, _ := set.Stream(name)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := s.WaitFor(ctx, n); err != nil {
		b.Fatal(err)
	}
	return float64(n) / time.Since(start).Seconds()
}

// BenchmarkJetStreamLagUnderLoad appends at ACCOUNTD_STREAM_BENCH_RATE events/s (default
// 5,000) for ACCOUNTD_STREAM_BENCH_SECONDS (default 20) while a JetStream consumer takes
// each envelope, and reports the lag (from an append being issued to the consumer receiving
// its envelope) as p50/p99 metrics; the target (p99 < 500 ms) is read from the report:
//
//	ACCOUNTD_TEST_NATS_URL=nats://127.0.0.1:4222 go test -run '^$' -bench JetStreamLagUnderLoad -benchtime 1x -v ./projections/streams/
func BenchmarkJetStreamLagUnderLoad(b *testing.B) {
	server := natsURL(b)
	for b.Loop() {
		p50, p99, rate := lagUnderLoad(b, server)
		b.ReportMetric(float64(p50.Microseconds())/1000, "p50-lag-ms")
		b.ReportMetric(float64(p99.Microseconds())/1000, "p99-lag-ms")
		b.ReportMetric(rate, "appends/s")
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// benchLog is a SQLite log of n sign-in failures over 1,000 accounts, appended 100 at a time.
func benchLog(t testing.TB, n int) eventstore.Store {
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
func rawJetStreamRate(t testing.TB, server string, store eventstore.Store, n uint64) float64 {
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

// lagUnderLoad appends at a steady rate while a JetStream consumer reads the stream, and
// returns the lag's p50 and p99 and the append rate reached.
func lagUnderLoad(t testing.TB, server string) (p50, p99 time.Duration, reached float64) {
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
		defer mu.Unlock()
		t.Fatalf("only %d of %d envelopes reached the consumer", len(lags), total-1)
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(lags)
	q := func(p float64) time.Duration { return lags[int(p*float64(len(lags)-1))] }
	reached = float64(total-1) / elapsed.Seconds()
	t.Logf("lag while the log grows at %.0f events/s for %s (%d events): p50 %s, p99 %s, max %s (append issued -> JetStream consumer received)",
		reached, elapsed.Round(time.Millisecond), len(lags), q(0.5).Round(100*time.Microsecond), q(0.99).Round(100*time.Microsecond), lags[len(lags)-1])
	return q(0.5), q(0.99), reached
}
