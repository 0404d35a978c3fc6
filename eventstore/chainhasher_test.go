package eventstore

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestChainHasherMatchesChainHash(t *testing.T) {
	big := bytes.Repeat([]byte{0, 0xff, 'x'}, 1<<18)
	events := []RecordedEvent{
		{},
		{ID: uuid.New(), Stream: "acct-1", Type: "Opened", Revision: 0, Position: 1, RecordedAt: time.Unix(0, 1_700_000_000_123456789).UTC(), Data: []byte(`{"a":1}`)},
		{ID: uuid.New(), Stream: "compte-é-🚀", Type: "Dépôt", Revision: 7, Position: 1 << 40, RecordedAt: time.Unix(-5, 0), Data: big, Metadata: []byte{0}},
		{ID: uuid.New(), Stream: "s", Type: "t", Data: []byte{}, Metadata: nil},
	}
	var c ChainHasher
	prev := [32]byte{9}
	for i, e := range events {
		if got, want := c.Hash(prev, e), ChainHash(prev, e); got != want {
			t.Fatalf("event %d: ChainHasher %x, ChainHash %x", i, got, want)
		}
		prev = ChainHash(prev, e)
	}
	if n := testing.AllocsPerRun(100, func() { c.Hash(prev, events[1]) }); n != 0 {
		t.Fatalf("ChainHasher allocates %v times per event", n)
	}
}
