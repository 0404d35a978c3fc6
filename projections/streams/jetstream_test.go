package streams_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"accountd/projections/streams"
)

// natsURL is the JetStream server of the tests, or a skip with the reason.
func natsURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("ACCOUNTD_TEST_NATS_URL")
	if u == "" {
		t.Skip("ACCOUNTD_TEST_NATS_URL not set: no NATS JetStream server to test against (.ci/run sets it)")
	}
	nc, err := nats.Connect(u, nats.Timeout(2*time.Second))
	if err != nil {
		t.Skipf("NATS at %s unreachable: %v", u, err)
	}
	nc.Close()
	return u
}

func unique(prefix string) string {
	b := make([]byte, 6)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// jetStreamTarget names a subject and a stream of the test's own (other helpers share the
// server) and deletes the stream when the test ends.
func jetStreamTarget(t testing.TB, server string) (subject, stream string, js nats.JetStreamContext) {
	t.Helper()
	nc, err := nats.Connect(server)
	if err != nil {
		t.Fatal(err)
	}
	js, err = nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	id := unique("")
	subject, stream = "accountd.test."+id, "ACCOUNTD_TEST_"+strings.ToUpper(id)
	t.Cleanup(func() {
		js.DeleteStream(stream)
		nc.Close()
	})
	return subject, stream, js
}

func jetStreamConfig(t testing.TB, name, server, subject, stream string) streams.Config {
	t.Helper()
	d, err := streams.ParseDestination(fmt.Sprintf("%s?subject=%s&stream=%s", server, url.QueryEscape(subject), stream))
	if err != nil {
		t.Fatal(err)
	}
	return streams.Config{Name: name, Destination: d, RetryFirst: 20 * time.Millisecond, RetryMax: 100 * time.Millisecond,
		PauseAfter: 5}
}

// storedEnvelopes reads every message the JetStream stream holds, in stream order, and
// checks each one's Nats-Msg-Id is its envelope's ID.
func storedEnvelopes(t *testing.T, js nats.JetStreamContext, stream, subject string) []streams.Envelope {
	t.Helper()
	info, err := js.StreamInfo(stream)
	if err != nil {
		t.Fatal(err)
	}
	n := int(info.State.Msgs)
	sub, err := js.SubscribeSync(subject, nats.BindStream(stream), nats.OrderedConsumer(), nats.DeliverAll())
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	out := make([]streams.Envelope, 0, n)
	for range n {
		m, err := sub.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatalf("after %d of %d messages: %v", len(out), n, err)
		}
		var env streams.Envelope
		if err := json.Unmarshal(m.Data, &env); err != nil {
			t.Fatal(err)
		}
		if id := m.Header.Get(nats.MsgIdHdr); id != env.ID {
			t.Fatalf("Nats-Msg-Id %q on envelope %s", id, env.ID)
		}
		out = append(out, env)
	}
	return out
}

func TestJetStreamEveryEventOnceInOrder(t *testing.T) {
	server := natsURL(t)
	f := newLog(t)
	f.story(t)
	logins(t, f.store, 3000, f.now)
	subject, stream, js := jetStreamTarget(t, server)
	set := openSet(t, f.store, t.TempDir(), time.Now, jetStreamConfig(t, "siem", server, subject, stream))
	caughtUp(t, set, "siem", f.store)
	allOnceInOrder(t, f.store, storedEnvelopes(t, js, stream, subject))
	info, err := js.StreamInfo(stream)
	if err != nil || info.Config.Duplicates != streams.DefaultDedupeWindow || info.Config.Subjects[0] != subject {
		t.Fatalf("the stream accountd created: %+v, %v", info, err)
	}

	// A replay sends the same IDs: JetStream recognises them and stores nothing twice.
	if err := set.Reset(t.Context(), "siem", 1); err != nil {
		t.Fatal(err)
	}
	caughtUp(t, set, "siem", f.store)
	allOnceInOrder(t, f.store, storedEnvelopes(t, js, stream, subject))
	head, _ := f.store.HeadPosition(t.Context())
	if l, _ := set.List(t.Context()); l[0].DuplicatesDropped != head {
		t.Fatalf("JetStream dropped %d re-sent envelopes, want %d", l[0].DuplicatesDropped, head)
	}
}

func TestJetStreamFilterSendsOnlyWhatItNames(t *testing.T) {
	server := natsURL(t)
	f := newLog(t)
	f.story(t)
	subject, stream, js := jetStreamTarget(t, server)
	cfg := jetStreamConfig(t, "locks", server, subject, stream)
	var err error
	if cfg.Filter, err = streams.ParseFilter("type:account_locked.v1,account_unlocked.v1"); err != nil {
		t.Fatal(err)
	}
	set := openSet(t, f.store, t.TempDir(), time.Now, cfg)
	caughtUp(t, set, "locks", f.store)
	got := storedEnvelopes(t, js, stream, subject)
	if len(got) != 2 || got[0].Type != "accountd.account_locked.v1" || got[1].Type != "accountd.account_unlocked.v1" {
		t.Fatalf("filtered stream holds %+v", got)
	}
}

// natsServer is a JetStream server of the test's own, which it can kill.
type natsServer struct {
	t         *testing.T
	bin, addr string
	dir       string
	cmd       *exec.Cmd
}

func startOwnNATS(t *testing.T) *natsServer {
	t.Helper()
	natsURL(t) // the same switch as the other JetStream tests
	bin := os.Getenv("ACCOUNTD_TEST_NATS_SERVER")
	if bin == "" {
		bin = "/usr/sbin/nats-server"
	}
	if _, err := os.Stat(bin); err != nil {
		if bin, err = exec.LookPath("nats-server"); err != nil {
			t.Skip("no nats-server binary to kill and restart (ACCOUNTD_TEST_NATS_SERVER)")
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s := &natsServer{t: t, bin: bin, addr: addr, dir: t.TempDir()}
	s.start()
	t.Cleanup(func() { s.kill() })
	return s
}

func (s *natsServer) url() string { return "nats://" + s.addr }

func (s *natsServer) start() {
	s.t.Helper()
	host, port, _ := net.SplitHostPort(s.addr)
	s.cmd = exec.Command(s.bin, "-a", host, "-p", port, "-js", "-sd", filepath.Join(s.dir, "js"), "-l", filepath.Join(s.dir, "nats.log"))
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	until(s.t, "nats-server to listen", 20*time.Second, func() bool {
		c, err := net.Dial("tcp", s.addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

// kill is kill -9: no shutdown, whatever the server held in memory is gone.
func (s *natsServer) kill() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGKILL)
	s.cmd.Wait()
	s.cmd = nil
}

func TestJetStreamServerKilledMidPublishLosesNothing(t *testing.T) {
	srv := startOwnNATS(t)
	f := newLog(t)
	f.story(t)
	const events = 20000
	subject, stream := "accountd.crash", "ACCOUNTD_CRASH"
	cfg := jetStreamConfig(t, "siem", srv.url(), subject, stream)
	cfg.Batch = 4096
	set := openSet(t, f.store, t.TempDir(), time.Now, cfg)
	s, _ := set.Stream("siem")
	status := func() streams.Status { l, _ := set.List(t.Context()); return l[0] }

	// A backlog, so the kill lands in the middle of publishing it.
	logins(t, f.store, events, f.now)
	until(t, "the stream to be publishing", 30*time.Second, func() bool { return s.Position() > 2000 })
	srv.kill()
	killedAt := s.Position()
	until(t, "the stream to pause while the server is down", 30*time.Second, func() bool { return status().Paused })
	logins(t, f.store, 500, f.now) // the log goes on meanwhile
	if st := status(); st.Lag == 0 || st.Position >= killedAt+events {
		t.Fatalf("paused stream: %+v", st)
	}
	srv.start()
	caughtUp(t, set, "siem", f.store)
	if status().Paused {
		t.Fatal("still paused once caught up")
	}

	nc, err := nats.Connect(srv.url())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := nc.JetStream()
	allOnceInOrder(t, f.store, storedEnvelopes(t, js, stream, subject))
	t.Logf("killed at position %d; duplicates JetStream dropped after the restart: %d", killedAt, status().DuplicatesDropped)
}

// TestJetStreamDownPausesTheStreamAndItCatchesUpWhenBack cuts the network to NATS while
// the log grows: the stream pauses, resumes by itself once NATS is reachable, and JetStream
// holds every event once, in order (a re-send carries the same Nats-Msg-Id and is dropped).
func TestJetStreamDownPausesTheStreamAndItCatchesUpWhenBack(t *testing.T) {
	server := natsURL(t)
	f := newLog(t)
	f.story(t)
	subject, stream, js := jetStreamTarget(t, server)
	u, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newCutProxy(t, u.Host)
	cfg := jetStreamConfig(t, "siem", "nats://"+proxy.addr, subject, stream)
	cfg.PauseAfter = 3
	set := openSet(t, f.store, t.TempDir(), time.Now, cfg)
	caughtUp(t, set, "siem", f.store)

	proxy.down()
	logins(t, f.store, 40, f.now)
	until(t, "the stream to pause", 60*time.Second, func() bool { l, _ := set.List(t.Context()); return l[0].Paused })
	proxy.up()
	caughtUp(t, set, "siem", f.store)
	allOnceInOrder(t, f.store, storedEnvelopes(t, js, stream, subject))
}
