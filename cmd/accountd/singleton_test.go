package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"accountd/domain"
	"accountd/eventstore/postgres"
)

// Three accountd processes on one PostgreSQL log, every node with its defaults plus one
// webhook stream: the nodes elect one outbox and one stream sender, so each activation
// mail goes out once and each event is streamed once; kill -9 of the holders mid-load
// moves their work to another node within the failover bound, losing nothing (a re-send
// carries the same Message-ID or envelope ID); the killed node, restarted, rejoins
// without taking the work a second time.
func TestSingletonWorkAcrossThreeNodes(t *testing.T) {
	storeURL := multinodeLog(t)

	// The webhook receiver: every envelope ID it gets, with how often.
	var hookMu sync.Mutex
	received := map[string]int{}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var env struct{ ID, Type string }
		if json.Unmarshal(body, &env) == nil && env.Type != "accountd.log_checkpoint" {
			hookMu.Lock()
			received[env.ID]++
			hookMu.Unlock()
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hook.Close()

	dir := t.TempDir()
	bin := filepath.Join(dir, "accountd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	keyA, keyB := make([]byte, 32), make([]byte, 32)
	_, _ = rand.Read(keyA)
	_, _ = rand.Read(keyB)
	// The same MFA and link keys on every node (what --keys DIR gives, once it exists).
	env := append(os.Environ(),
		"ACCOUNTD_TOKENS=tok-admin-0123456789:admin,tok-login-0123456789:login-service",
		"ACCOUNTD_MFA_KEY="+hex.EncodeToString(keyA), "ACCOUNTD_LINK_KEY="+hex.EncodeToString(keyB),
		"ACCOUNTD_POLICY_MFA_REQUIRED=false")
	const ttl, renew = 2 * time.Second, 500 * time.Millisecond
	bound := ttl + renew
	start := func(name, id string) *node {
		n := &node{t: t, name: name, data: filepath.Join(dir, name), args: []string{
			"--node-id", id, "--lease-ttl", ttl.String(), "--lease-renew", renew.String(),
			"--stream", "hooks=" + hook.URL + "/hook", "--stream-secret", "hooks=0123456789abcdef0123"}}
		n.start(bin, env, storeURL)
		return n
	}
	nodes := map[string]*node{"a": start("a", "a"), "b": start("b", "b"), "c": start("c", "c")}
	outboxes := []string{filepath.Join(dir, "a", "outbox"), filepath.Join(dir, "b", "outbox"), filepath.Join(dir, "c", "outbox")}
	alive := func() []*node {
		var out []*node
		for _, k := range []string{"a", "b", "c"} {
			if n := nodes[k]; n != nil {
				out = append(out, n)
			}
		}
		return out
	}
	store, err := postgres.Open(t.Context(), storeURL)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	prop := nodes["a"].post("/v1/properties", "tok-admin-0123456789", map[string]string{"name": "Hotel du Lac", "primary_contact_email": "direction@lac.example"})
	propID := prop["property_id"].(string)
	var regMu sync.Mutex
	registered := map[string]time.Time{} // email -> when its registration was acknowledged
	register := func(n *node, email string) bool {
		_, ok := n.tryPost("/v1/accounts", "tok-login-0123456789", map[string]string{"email": email, "password": "Correct horse battery 42", "property_id": propID})
		if ok {
			regMu.Lock()
			registered[email] = time.Now()
			regMu.Unlock()
		}
		return ok
	}
	// mails maps each recipient to the Message-IDs of the mails to them, over every
	// node's outbox.
	mails := func() map[string][]string {
		out := map[string][]string{}
		for _, d := range outboxes {
			files, _ := filepath.Glob(filepath.Join(d, "*.eml"))
			for _, f := range files {
				raw, err := os.ReadFile(f)
				if err != nil {
					continue
				}
				msg, err := mail.ReadMessage(bytes.NewReader(raw))
				if err != nil {
					continue // being written
				}
				to, err := msg.Header.AddressList("To")
				if err != nil || len(to) != 1 {
					t.Fatalf("%s: To %v, %v", f, to, err)
				}
				out[to[0].Address] = append(out[to[0].Address], msg.Header.Get("Message-ID"))
			}
		}
		return out
	}
	holders := func(n *node) map[string]string {
		v := n.get("/v1/admin/nodes", "tok-admin-0123456789")
		out := map[string]string{}
		for _, raw := range v["nodes"].([]any) {
			nd := raw.(map[string]any)
			for _, h := range nd["holds"].([]any) {
				work := h.(map[string]any)["work"].(string)
				if prev, dup := out[work]; dup {
					t.Fatalf("%s held by %s and %s at once", work, prev, nd["node_id"])
				}
				out[work] = nd["node_id"].(string)
			}
		}
		return out
	}
	// settle waits until every registered address has its mail and the webhook has every
	// event of the log up to the head.
	settle := func(what string, within time.Duration) time.Duration {
		t.Helper()
		began := time.Now()
		head, err := store.HeadPosition(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		recs, err := store.ReadAll(t.Context(), 0, int(head))
		if err != nil {
			t.Fatal(err)
		}
		for {
			m := mails()
			regMu.Lock()
			missing := 0
			for email := range registered {
				if len(m[email]) == 0 {
					missing++
				}
			}
			regMu.Unlock()
			hookMu.Lock()
			unsent := 0
			for _, r := range recs {
				if received[r.ID.String()] == 0 {
					unsent++
				}
			}
			hookMu.Unlock()
			if missing == 0 && unsent == 0 {
				return time.Since(began)
			}
			if time.Since(began) > within {
				var logs strings.Builder
				for _, n := range alive() {
					fmt.Fprintf(&logs, "--- node %s\n%s", n.name, n.logText())
				}
				t.Fatalf("%s: %d mails and %d streamed events missing after %s\n%s", what, missing, unsent, within, logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	exactlyOnce := func(what string) {
		t.Helper()
		for email, files := range mails() {
			if len(files) != 1 {
				t.Errorf("%s: %d activation mails to %s: %v", what, len(files), email, files)
			}
		}
		hookMu.Lock()
		defer hookMu.Unlock()
		for id, n := range received {
			if n != 1 {
				t.Errorf("%s: event %s streamed %d times", what, id, n)
			}
		}
	}

	// Registrations spread over the three nodes: each mail once, each event streamed once.
	for i := range 30 {
		n := alive()[i%3]
		if !register(n, fmt.Sprintf("staff%02d@lac.example", i)) {
			t.Fatalf("registration %d through %s failed", i, n.name)
		}
	}
	settle("spread registrations", 20*time.Second)
	exactlyOnce("before the kill")
	work := holders(nodes["a"])
	if work["outbox"] == "" || work["stream:hooks"] == "" || work["inactivity-sweep"] == "" {
		t.Fatalf("singleton work not all held: %v", work)
	}
	t.Logf("holders before the kill: %v", work)

	// Kill -9 the outbox's holder (and the stream's, when another node holds it) in the
	// middle of a load of registrations through every node.
	victims := map[string]bool{work["outbox"]: true, work["stream:hooks"]: true}
	var load sync.WaitGroup
	var killedAt time.Time
	killed := make(chan struct{})
	for c := range 3 {
		load.Go(func() {
			for i := range 12 {
				if c == 0 && i == 4 {
					for v := range victims {
						nodes[v].kill()
					}
					killedAt = time.Now()
					close(killed)
				}
				if c != 0 && i >= 4 {
					<-killed
				}
				n := nodes[[]string{"a", "b", "c"}[(c+i)%3]]
				for v := range victims {
					if n == nodes[v] {
						select {
						case <-killed:
							n = nil
						default:
						}
					}
				}
				if n == nil {
					for _, k := range []string{"a", "b", "c"} {
						if !victims[k] {
							n = nodes[k]
							break
						}
					}
				}
				register(n, fmt.Sprintf("load%d-%02d@lac.example", c, i))
			}
		})
	}
	load.Wait()
	for v := range victims {
		nodes[v] = nil
	}
	// Every mail of an account registered after the kill arrives within the failover
	// bound, give or take the time to send on a loaded machine.
	took := settle("after the kill", 30*time.Second)
	failover := time.Since(killedAt) // from the kill to the last mail and event delivered
	t.Logf("after the kill of %v: everything delivered %s after the load ended, %s after the kill (failover bound %s)", victims, took, failover, bound)
	if failover > bound+5*time.Second {
		t.Errorf("work resumed %s after the kill, bound %s", failover, bound)
	}
	for email, files := range mails() {
		if len(files) > 1 {
			for _, f := range files[1:] {
				if f != files[0] {
					t.Errorf("mails to %s with different Message-IDs: %v", email, files)
				}
			}
		}
	}
	survivor := alive()[0]
	after := holders(survivor)
	for _, w := range []string{"outbox", "stream:hooks"} {
		if victims[after[w]] || after[w] == "" {
			t.Fatalf("%s held by %q after the kill of %v", w, after[w], victims)
		}
		// The new holder says so in its log, naming the old one.
		logged := false
		for _, line := range strings.Split(nodes[after[w]].logText(), "\n") {
			var l struct{ Msg, Work, From, To string }
			if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "lease: took over singleton work" && l.Work == w && victims[l.From] && l.To == after[w] {
				logged = true
				t.Logf("%s", line)
			}
		}
		if !logged {
			t.Errorf("%s: no takeover line in the log of %s", w, after[w])
		}
	}

	// The killed nodes come back (a new node ID each start): they rejoin without taking
	// the work, and new registrations are mailed and streamed once more each.
	for v := range victims {
		nodes[v] = start(v, v+"-restarted")
	}
	mailsBefore := mails()
	hookMu.Lock()
	streamedBefore := map[string]int{}
	for id, n := range received {
		streamedBefore[id] = n
	}
	hookMu.Unlock()
	for i := range 9 {
		register(alive()[i%len(alive())], fmt.Sprintf("late%02d@lac.example", i))
	}
	settle("after the restart", 20*time.Second)
	final := holders(survivor)
	for _, w := range []string{"outbox", "stream:hooks"} {
		if final[w] != after[w] {
			t.Errorf("%s moved from %s to %s when the killed nodes rejoined", w, after[w], final[w])
		}
	}
	for email, files := range mails() {
		if len(files) != len(mailsBefore[email]) && !strings.HasPrefix(email, "late") {
			t.Errorf("mail to %s again after the restart: %v", email, files)
		}
		if strings.HasPrefix(email, "late") && len(files) != 1 {
			t.Errorf("%d mails to %s after the restart: %v", len(files), email, files)
		}
	}
	hookMu.Lock()
	for id, n := range received {
		if n != max(streamedBefore[id], 1) {
			t.Errorf("event %s streamed %d times (%d before the restart)", id, n, streamedBefore[id])
		}
	}
	hookMu.Unlock()
	// A registration unanswered when its node died may still be in the log (and mailed).
	if n := countEventsOfType(t, store, domain.AccountRegistered{}.EventType()); n < len(registered) {
		t.Errorf("%d registrations in the log, %d acknowledged", n, len(registered))
	}
	for _, n := range alive() {
		n.stop()
	}
}

func countEventsOfType(t *testing.T, store *postgres.Store, typ string) int {
	head, err := store.HeadPosition(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	recs, err := store.ReadAll(t.Context(), 0, int(head))
	if err != nil {
		t.Fatal(err)
	}
	return countEvents(recs, typ)
}
