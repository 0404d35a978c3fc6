package streams_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"accountd/eventstore"
	"accountd/projections/streams"
)

// receiver is a webhook endpoint that checks every request as a real receiver would and
// can be told to fail.
type receiver struct {
	t       *testing.T
	secret  []byte
	failing atomic.Bool
	refused atomic.Int64
	mu      sync.Mutex
	got     []streams.Envelope
	bodies  []string
}

func newReceiver(t *testing.T, secret []byte) (*receiver, *httptest.Server) {
	r := &receiver{t: t, secret: secret}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(srv.Close)
	return r, srv
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	if r.failing.Load() {
		r.refused.Add(1)
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	if ct := req.Header.Get("Content-Type"); ct != streams.ContentType {
		r.t.Errorf("Content-Type %q", ct)
	}
	if err := streams.Verify(r.secret, req.Header.Get(streams.SignatureHeader), body, time.Now(), 5*time.Minute); err != nil {
		r.t.Errorf("signature: %v", err)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var env streams.Envelope
	if err := json.Unmarshal(body, &env); err != nil {
		r.t.Errorf("envelope: %v", err)
	}
	r.mu.Lock()
	r.got = append(r.got, env)
	r.bodies = append(r.bodies, string(body))
	r.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

func (r *receiver) envelopes() ([]streams.Envelope, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]streams.Envelope(nil), r.got...), append([]string(nil), r.bodies...)
}

// allOnceInOrder checks that envs are exactly the log's events, in log order.
func allOnceInOrder(t *testing.T, store eventstore.Store, envs []streams.Envelope) {
	t.Helper()
	recs, err := store.ReadAll(t.Context(), 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(envs) != len(recs) {
		t.Fatalf("%d envelopes for %d events", len(envs), len(recs))
	}
	for i, rec := range recs {
		if envs[i].ID != rec.ID.String() || envs[i].Type != streams.TypePrefix+rec.Type {
			t.Fatalf("envelope %d is %s %s, the log has %s %s there", i, envs[i].ID, envs[i].Type, rec.ID, rec.Type)
		}
	}
}

func webhookConfig(name, url string, secret []byte) streams.Config {
	d, err := streams.ParseDestination(url)
	if err != nil {
		panic(err)
	}
	return streams.Config{Name: name, Destination: d, Secret: secret, RetryFirst: 5 * time.Millisecond, RetryMax: 20 * time.Millisecond,
		PauseAfter: 1000}
}

func TestWebhookSignsEveryRequestAndRetriesRefusals(t *testing.T) {
	f := newLog(t)
	f.story(t)
	secret := hookSecret
	rcv, srv := newReceiver(t, secret)
	rcv.failing.Store(true)
	set := openSet(t, f.store, t.TempDir(), time.Now, webhookConfig("siem", srv.URL+"/hook", secret))
	until(t, "three refused requests", 10*time.Second, func() bool { return rcv.refused.Load() >= 3 })
	rcv.failing.Store(false)
	caughtUp(t, set, "siem", f.store)

	envs, bodies := rcv.envelopes()
	allOnceInOrder(t, f.store, envs)
	for i, b := range bodies {
		for _, secretish := range []string{"password_hash", "token_hash", "nonce", "$argon2", "encrypted_secret", `"session_id"`} {
			if strings.Contains(b, secretish) {
				t.Fatalf("envelope %d carries %s: %s", i, secretish, b)
			}
		}
	}
	list, _ := set.List(t.Context())
	if list[0].Failures < 3 || list[0].Paused || list[0].Lag != 0 {
		t.Fatalf("status after refusals: %+v", list[0])
	}
	// A receiver holding another secret refuses everything.
	if err := streams.Verify([]byte("another secret of 32 bytes......"), streams.Sign(secret, time.Now(), []byte(bodies[0])), []byte(bodies[0]), time.Now(), time.Minute); err == nil {
		t.Fatal("a signature verified under another secret")
	}
}

func TestWebhookDownPausesTheStreamAndItCatchesUpWhenBack(t *testing.T) {
	f := newLog(t)
	f.story(t)
	secret := hookSecret
	rcv, srv := newReceiver(t, secret)
	rcv.failing.Store(true)
	cfg := webhookConfig("helpdesk", srv.URL, secret)
	cfg.PauseAfter = 4
	set := openSet(t, f.store, t.TempDir(), time.Now, cfg)
	paused := func() bool { l, _ := set.List(t.Context()); return l[0].Paused }
	until(t, "the stream to pause", 10*time.Second, paused)
	logins(t, f.store, 50, f.now) // the log goes on while the destination is down
	if l, _ := set.List(t.Context()); l[0].Lag == 0 || l[0].Position != 0 {
		t.Fatalf("paused stream status: %+v", l[0])
	}
	rcv.failing.Store(false)
	caughtUp(t, set, "helpdesk", f.store)
	if paused() {
		t.Fatal("still paused after catching up")
	}
	envs, _ := rcv.envelopes()
	allOnceInOrder(t, f.store, envs)
}

// hookSecret signs the test webhooks.
var hookSecret = []byte("a webhook secret of 32 bytes....")

// TestUndecodableEventGoesToThePoisonQueue: an event the stream cannot read is recorded
// as a dead letter and skipped; every other event still goes out, in order.
func TestUndecodableEventGoesToThePoisonQueue(t *testing.T) {
	f := newLog(t)
	logins(t, f.store, 3, f.now)
	bad := eventstore.EventData{ID: uuid.New(), Type: "login_failed.v1", Data: []byte(`{"failed_attempts":"many"}`)}
	if _, err := f.store.Append(t.Context(), "account-broken", eventstore.Any, bad); err != nil {
		t.Fatal(err)
	}
	logins(t, f.store, 3, f.now)
	rcv, srv := newReceiver(t, hookSecret)
	set := openSet(t, f.store, t.TempDir(), time.Now, webhookConfig("siem", srv.URL, hookSecret))
	caughtUp(t, set, "siem", f.store)
	envs, _ := rcv.envelopes()
	if len(envs) != 6 || slices.ContainsFunc(envs, func(e streams.Envelope) bool { return e.ID == bad.ID.String() }) {
		t.Fatalf("%d envelopes: %+v", len(envs), envs)
	}
	for i := 1; i < len(envs); i++ {
		if a, b := envs[i-1].Position, envs[i].Position; len(a) > len(b) || (len(a) == len(b) && a >= b) {
			t.Fatalf("out of order: %s then %s", a, b)
		}
	}
	if l, _ := set.List(t.Context()); l[0].DeadLetters != 1 || l[0].Lag != 0 {
		t.Fatalf("status: %+v", l[0])
	}
}
