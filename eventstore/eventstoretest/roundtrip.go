package eventstoretest

import (
	"math/rand/v2"
	"testing"

	"accountd/eventstore"

	"github.com/google/uuid"
)

var roundTripCases = []testCase{
	{"LargeBatch", func(t *testing.T, s eventstore.Store) {
		const n = 5000
		mustAppend(t, s, "before", eventstore.NoStream, newEvent("Opened"))
		sent := newEvents("Deposited", n)
		res := mustAppend(t, s, "bulk", eventstore.NoStream, sent...)
		if res.NextRevision != n-1 || !equalPositions(res.Positions, positionsFrom(2, n)) {
			t.Fatalf("result: next revision %d, positions %d..%d; want %d, 2..%d",
				res.NextRevision, res.Positions[0], res.LastPosition(), n-1, n+1)
		}
		assertRecorded(t, mustReadStream(t, s, "bulk"), "bulk", sent, 0, positionsFrom(2, n))
		all := mustReadAll(t, s)
		assertRecorded(t, all[1:], "bulk", sent, 0, positionsFrom(2, n))
		assertHead(t, s, n+1)
	}},
	{"MebibytePayloads", func(t *testing.T, s eventstore.Store) {
		rng := rand.New(rand.NewChaCha8([32]byte{1}))
		sent := make([]eventstore.EventData, 3)
		for i := range sent {
			data := make([]byte, 1<<20+i)
			for j := range data {
				data[j] = byte(rng.Uint32())
			}
			sent[i] = eventstore.EventData{ID: uuid.New(), Type: "Snapshot", Data: data, Metadata: data[:1000]}
		}
		mustAppend(t, s, "big", eventstore.NoStream, sent[:2]...)
		mustAppend(t, s, "big", eventstore.Exact(1), sent[2])
		assertRecorded(t, mustReadStream(t, s, "big"), "big", sent, 0, positionsFrom(1, 3))
	}},
	{"UnicodeAndBinary", func(t *testing.T, s eventstore.Store) {
		cases := []struct {
			stream string
			event  eventstore.EventData
		}{
			{"compte-épargne-🚀", eventstore.EventData{ID: uuid.New(), Type: "Dépôt💰", Data: []byte(`{"libellé":"café crème ☕"}`), Metadata: []byte("perché? città!")}},
			{"conto-città-perché", eventstore.EventData{ID: uuid.New(), Type: "Versamento", Data: []byte("è già così")}},
			{"账户-口座-계좌", eventstore.EventData{ID: uuid.New(), Type: "存款", Data: []byte("金额：１００円 🇯🇵")}},
			{"binary", eventstore.EventData{ID: uuid.New(), Type: "Raw", Data: []byte("a\x00b\x00\x00\xff\xfe\xc3\x28\x80end\x00"), Metadata: []byte{0, 0xff, 0}}},
			{"only-nul", eventstore.EventData{ID: uuid.New(), Type: "Raw", Data: []byte{0}}},
			{"empty-data-nil-metadata", eventstore.EventData{ID: uuid.New(), Type: "Touched", Data: []byte{}}},
			{"nil-data-nil-metadata", eventstore.EventData{ID: uuid.New(), Type: "Touched"}},
		}
		for i, c := range cases {
			mustAppend(t, s, c.stream, eventstore.NoStream, c.event)
			got := mustReadStream(t, s, c.stream)
			assertRecorded(t, got, c.stream, []eventstore.EventData{c.event}, 0, []uint64{uint64(i) + 1})
		}
		all := mustReadAll(t, s)
		for i, c := range cases {
			assertRecorded(t, all[i:i+1], c.stream, []eventstore.EventData{c.event}, 0, []uint64{uint64(i) + 1})
		}
	}},
	{"RecordedAt", func(t *testing.T, s eventstore.Store) {
		mustAppend(t, s, "acct", eventstore.NoStream, newEvents("Opened", 2)...)
		mustAppend(t, s, "acct", eventstore.Exact(1), newEvent("Deposited"))
		byStream := mustReadStream(t, s, "acct")
		byAll := mustReadAll(t, s)
		for i := range byStream {
			a, b := byStream[i].RecordedAt, byAll[i].RecordedAt
			if a.IsZero() || a.UnixNano() != b.UnixNano() || !a.Equal(b) {
				t.Fatalf("event %d: RecordedAt %v by stream, %v by position", i, a, b)
			}
		}
		// Hash verification (Chain cases) pins the nanoseconds to what the writer hashed.
		again := mustReadStream(t, s, "acct")
		for i := range again {
			if again[i].RecordedAt.UnixNano() != byStream[i].RecordedAt.UnixNano() {
				t.Fatalf("event %d: RecordedAt changed between reads", i)
			}
		}
	}},
}
