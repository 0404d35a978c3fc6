package streams_test

import (
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"accountd/projections/streams"
)

// signedHead stands in for the transparency log's checkpointer: it "signs" whatever size
// the test sets.
type signedHead struct{ size atomic.Uint64 }

func (h *signedHead) LatestSigned() (uint64, []byte, bool) {
	n := h.size.Load()
	return n, []byte("accountd.test/log\n" + time.Unix(int64(n), 0).UTC().Format(time.RFC3339) + "\n\n— test signature\n"), n > 0
}

func TestSignedCheckpointsGoOutAfterTheEventsTheyCover(t *testing.T) {
	f := newLog(t)
	f.story(t)
	head, _ := f.store.HeadPosition(t.Context())
	signer := &signedHead{}
	signer.size.Store(head)
	secret := hookSecret
	rcv, srv := newReceiver(t, secret)
	set := openSetWith(t, f.store, t.TempDir(), streams.Options{Checkpoints: signer}, webhookConfig("siem", srv.URL, secret))
	caughtUp(t, set, "siem", f.store)
	until(t, "the signed checkpoint", 10*time.Second, func() bool { envs, _ := rcv.envelopes(); return uint64(len(envs)) == head+1 })

	envs, _ := rcv.envelopes()
	allOnceInOrder(t, f.store, envs[:head])
	cp := envs[head]
	var data streams.CheckpointEvent
	if err := json.Unmarshal(cp.Data.Event, &data); err != nil {
		t.Fatal(err)
	}
	_, note, _ := signer.LatestSigned()
	if cp.Type != streams.CheckpointType || data.Size != head || data.Note != string(note) || cp.Position != envs[head-1].Position {
		t.Fatalf("checkpoint envelope %+v with %+v after the event at %s", cp, data, envs[head-1].Position)
	}
}
