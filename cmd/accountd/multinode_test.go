package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"accountd/domain"
	"accountd/eventstore"
	"accountd/eventstore/postgres"
)

// Two accountd processes sharing one PostgreSQL log, each with its own read models: the
// lockout rule holds across nodes, each node's projections follow the other's writes, and
// a node killed with SIGKILL mid-load loses nothing that was acknowledged and catches up.
func TestMultiNodePostgres(t *testing.T) {
	storeURL := multinodeLog(t)
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	// Both nodes read their keys from one directory (as from a mounted secret), empty at
	// first: the two start at the same moment, agree on the keys one of them generates,
	// and record their fingerprints in the log once.
	env := append(os.Environ(),
		"ACCOUNTD_TOKENS=tok-admin-0123456789:admin,tok-login-0123456789:login-service,tok-security-0123456789:security",
		"ACCOUNTD_KEYS="+filepath.Join(dir, "shared-keys"),
		"ACCOUNTD_POLICY_MFA_REQUIRED=false")
	newNode := func(name string) *node {
		return &node{t: t, name: name, data: filepath.Join(dir, name)}
	}
	start := func(name string) *node {
		n := newNode(name)
		n.start(bin, env, storeURL)
		return n
	}
	a, b2 := newNode("a"), newNode("b")
	a.launch(bin, env, storeURL)
	b2.launch(bin, env, storeURL)
	a.waitServing()
	b2.waitServing()

	// Setup through node a.
	prop := a.post("/v1/properties", "tok-admin-0123456789", map[string]string{"name": "Hotel du Lac", "primary_contact_email": "direction@lac.example"})
	propID := prop["property_id"].(string)
	activate := func(email string) string {
		acc := a.post("/v1/accounts", "tok-login-0123456789", map[string]string{"email": email, "password": "Correct horse battery 42", "property_id": propID})
		// The nodes elect one sender: the mail is in whichever node's outbox held the lease.
		token := waitForLinkIn(t, []string{filepath.Join(a.data, "outbox"), filepath.Join(b2.data, "outbox")}, email, "http://login.test/activate")
		a.post("/v1/activations", "tok-login-0123456789", map[string]string{"token": token})
		return acc["account_id"].(string)
	}
	victim := activate("dario@lago.example")

	// 40 concurrent wrong passwords, half through each node.
	var wg sync.WaitGroup
	reasons := make(chan string, 40)
	for i := range 40 {
		n := []*node{a, b2}[i%2]
		wg.Go(func() {
			r := n.post("/v1/logins", "tok-login-0123456789", map[string]string{"email": "dario@lago.example", "password": "wrong password", "ip": "198.51.100.7"})
			reasons <- fmt.Sprint(r["reason"])
		})
	}
	wg.Wait()
	lastAck := time.Now()
	close(reasons)
	counts := map[string]int{}
	for r := range reasons {
		counts[r]++
	}
	if counts["invalid_credentials"] != 5 || counts["account_locked"] != 35 {
		t.Fatalf("reasons %v, want 5 invalid_credentials and 35 account_locked", counts)
	}
	store, err := postgres.Open(t.Context(), storeURL)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	recs, err := store.ReadStream(t.Context(), domain.AccountStream(victim), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if n := countEvents(recs, domain.LoginFailed{}.EventType()); n != 6 {
		t.Fatalf("%d login_failed events, want exactly 6", n)
	}
	if n := countEvents(recs, domain.AccountLocked{}.EventType()); n != 1 {
		t.Fatalf("%d account_locked events, want 1", n)
	}
	for _, n := range []*node{a, b2} {
		for {
			if st := n.get("/v1/accounts/"+victim+"/status", "tok-login-0123456789"); st["status"] == "locked" {
				break
			}
			if time.Since(lastAck) > time.Second {
				t.Fatalf("node %s does not show the lock a second after the last login", n.name)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	// Load through both nodes; node b is killed in the middle of it and restarted.
	user := activate("lea@lago.example")
	type ack struct{ position uint64 }
	acks := make(chan ack, 200)
	var acked0, lost atomic.Int32
	killed := make(chan struct{})
	victimNode := b2
	var load sync.WaitGroup
	for c := range 8 {
		load.Go(func() {
			for i := range 20 {
				n := []*node{a, victimNode}[(c+i)%2]
				r, ok := n.tryPost("/v1/logins", "tok-login-0123456789", map[string]string{"email": "lea@lago.example", "password": "Correct horse battery 42", "ip": "192.0.2.1"})
				if !ok {
					lost.Add(1)
					continue
				}
				if r["decision"] == "allowed" {
					acks <- ack{uint64(r["position"].(float64))}
				}
				// Kill node b once a quarter of the load is acknowledged, from one client,
				// while the others keep sending.
				if acked0.Add(1) == 40 {
					victimNode.kill()
					close(killed)
				}
			}
		})
	}
	load.Wait()
	close(acks)
	select {
	case <-killed:
	default:
		t.Fatal("the load ended before node b was killed")
	}
	t.Logf("%d logins answered, %d unanswered (sent to the killed node)", acked0.Load(), lost.Load())
	if lost.Load() == 0 {
		t.Fatal("no request reached the killed node: it was not killed mid-load")
	}
	b2 = start("b")

	var maxAck uint64
	acked := 0
	for k := range acks {
		acked++
		maxAck = max(maxAck, k.position)
		got, err := store.ReadAll(t.Context(), k.position-1, 1)
		if err != nil || len(got) != 1 || got[0].Stream != domain.AccountStream(user) {
			t.Fatalf("acknowledged login at position %d: read %+v, %v", k.position, got, err)
		}
	}
	if acked < 20 {
		t.Fatalf("only %d logins acknowledged", acked)
	}
	if head, err := store.VerifyChain(t.Context()); err != nil || head.Position < maxAck {
		t.Fatalf("chain after the kill: %+v, %v (last ack at %d)", head, err, maxAck)
	}
	// The restarted node catches up: a read that waits for the last acknowledged position.
	st := b2.get(fmt.Sprintf("/v1/accounts/%s/status?min_position=%d", user, maxAck), "tok-login-0123456789")
	if st["status"] != "active" {
		t.Fatalf("restarted node b: status %v", st)
	}
	head, _ := store.HeadPosition(t.Context())
	if st := b2.get(fmt.Sprintf("/v1/accounts/%s/status?min_position=%d", victim, head), "tok-login-0123456789"); st["status"] != "locked" {
		t.Fatalf("restarted node b has not caught up to %d: %v", head, st)
	}
	a.stop()
	b2.stop()
}

// multinodeLog is postgresURL's schema of the test's own, or skips the test without
// PostgreSQL or in -short mode (it builds and runs the binary several times).
func multinodeLog(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary several times")
	}
	return postgresURL(t)
}

func buildBinary(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "accountd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// Two nodes on one log with different keys: what the first seals (TOTP secrets) or signs
// (links) the second could not open, so the second refuses to start, naming the key, its
// file, both fingerprints and the fix, and exits 1.
func TestMultiNodeDifferentKeysRefused(t *testing.T) {
	storeURL := multinodeLog(t)
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	env := append(os.Environ(), "ACCOUNTD_TOKENS=tok-admin-0123456789:admin", "ACCOUNTD_POLICY_MFA_REQUIRED=false")
	keysA, keysB := filepath.Join(dir, "keys-a"), filepath.Join(dir, "keys-b")
	a := &node{t: t, name: "a", data: filepath.Join(dir, "a")}
	a.start(bin, append(env, "ACCOUNTD_KEYS="+keysA), storeURL)
	defer a.stop()

	b := &node{t: t, name: "b", data: filepath.Join(dir, "b")}
	b.launch(bin, append(env, "ACCOUNTD_KEYS="+keysB), storeURL)
	select {
	case <-b.addr:
		t.Fatalf("node b serves with other keys:\n%s", b.logText())
	case <-b.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("node b neither served nor exited:\n%s", b.logText())
	}
	err := b.cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("node b exit: %v, want exit status 1", err)
	}
	fingerprint := func(keys string) string {
		key, err := os.ReadFile(filepath.Join(keys, "mfa.key"))
		if err != nil {
			t.Fatal(err)
		}
		return domain.KeyFingerprint(domain.KeyPurposeMFA, key)
	}
	msg := b.logText()
	for _, want := range []string{"accountd serve: key mismatch", "MFA secret sealing key", "purpose mfa",
		"file " + filepath.Join(keysB, "mfa.key"), fingerprint(keysB), "the log recorded " + fingerprint(keysA), "--keys DIR (ACCOUNTD_KEYS)"} {
		if !strings.Contains(msg, want) {
			t.Errorf("node b's refusal lacks %q:\n%s", want, msg)
		}
	}
	t.Logf("node b: %s", strings.TrimSpace(msg[strings.LastIndex(strings.TrimSpace(msg), "\n")+1:]))
}

type node struct {
	t    *testing.T
	name string
	data string
	args []string // more flags
	cmd  *exec.Cmd
	base string
	logs *bytes.Buffer
	mu   *sync.Mutex
	done chan struct{}
	addr chan string // the address the node serves at, once it does
}

func (n *node) start(bin string, env []string, storeURL string) {
	n.launch(bin, env, storeURL)
	n.waitServing()
}

// launch starts the node's process without waiting for it to serve (waitServing), so
// several nodes can start at the same moment.
func (n *node) launch(bin string, env []string, storeURL string) {
	t := n.t
	n.cmd = exec.Command(bin, "serve", "--data", n.data, "--addr", "127.0.0.1:0", "--log-format", "json",
		"--store", "postgres", "--store-url", storeURL,
		"--argon2-memory-kib", "64", "--argon2-iterations", "1", "--sync", "normal", "--public-url", "http://login.test")
	n.cmd.Args = append(n.cmd.Args, n.args...)
	n.cmd.Env = env
	stderr, _ := n.cmd.StderrPipe()
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n.logs, n.mu, n.done = &bytes.Buffer{}, &sync.Mutex{}, make(chan struct{})
	n.addr = make(chan string, 1)
	addr := n.addr
	logs, mu, done := n.logs, n.mu, n.done
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			mu.Lock()
			logs.Write(append(sc.Bytes(), '\n'))
			mu.Unlock()
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "accountd serving" {
				addr <- line.Addr
			}
		}
	}()
	cmd := n.cmd
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
}

func (n *node) waitServing() {
	t := n.t
	t.Helper()
	select {
	case a := <-n.addr:
		n.base = "http://" + a
	case <-n.done:
		t.Fatalf("node %s exited at start:\n%s", n.name, n.logText())
	case <-time.After(30 * time.Second):
		t.Fatalf("node %s did not start:\n%s", n.name, n.logText())
	}
}

func (n *node) logText() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.logs.String()
}

func (n *node) kill() {
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.done
	_ = n.cmd.Wait()
}

func (n *node) stop() {
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	<-n.done
	if err := n.cmd.Wait(); err != nil {
		n.t.Errorf("node %s exit after SIGTERM: %v\n%s", n.name, err, n.logText())
	}
}

// tryPost reports ok=false for a request the node did not answer (it was killed).
func (n *node) tryPost(path, token string, body any) (map[string]any, bool) {
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, n.base+path, bytes.NewReader(raw))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, false
	}
	defer resp.Body.Close()
	out := map[string]any{}
	data, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode >= 300 || json.Unmarshal(data, &out) != nil {
		if err == nil && resp.StatusCode < 500 {
			n.t.Errorf("node %s POST %s: %s: %s", n.name, path, resp.Status, data)
		}
		return nil, false
	}
	return out, true
}

func (n *node) post(path, token string, body any) map[string]any {
	n.t.Helper()
	out, ok := n.tryPost(path, token, body)
	if !ok {
		n.t.Fatalf("node %s POST %s failed\n%s", n.name, path, n.logText())
	}
	return out
}

func (n *node) get(path, token string) map[string]any {
	n.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, n.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(data, &out) != nil {
		n.t.Fatalf("node %s GET %s: %s: %s", n.name, path, resp.Status, data)
	}
	return out
}

// waitForLinkTo is waitForLink for one recipient: the outbox holds mails for several.
func waitForLinkTo(t *testing.T, dir, recipient, prefix string) string {
	t.Helper()
	return waitForLinkIn(t, []string{dir}, recipient, prefix)
}

// waitForLinkIn is waitForLinkTo over the outboxes of several nodes.
func waitForLinkIn(t *testing.T, dirs []string, recipient, prefix string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var files []string
		for _, dir := range dirs {
			more, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
			files = append(files, more...)
		}
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil || !bytes.Contains(raw, []byte(recipient)) {
				continue
			}
			msg, err := mail.ReadMessage(bytes.NewReader(raw))
			if err != nil {
				continue
			}
			body, _ := io.ReadAll(quotedprintable.NewReader(msg.Body))
			if link := linkPattern.FindString(string(body)); strings.HasPrefix(link, prefix) {
				u, _ := url.Parse(link)
				return u.Query().Get("token")
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no mail to %s with a link to %s in %s", recipient, prefix, dirs)
	return ""
}

func countEvents(recs []eventstore.RecordedEvent, typ string) int {
	n := 0
	for _, r := range recs {
		if r.Type == typ {
			n++
		}
	}
	return n
}

// The store is chosen by flag or environment, and a shared store needs its URL.
func TestStoreSelection(t *testing.T) {
	dir := t.TempDir()
	ok := func(args, environ []string, store, url string) {
		t.Helper()
		cfg, err := parseServe(append([]string{"--data", dir}, args...), environ, io.Discard)
		if err != nil || cfg.Store != store || cfg.StoreURL != url {
			t.Fatalf("%v %v: store %q url %q, %v; want %q %q", args, environ, cfg.Store, cfg.StoreURL, err, store, url)
		}
	}
	ok(nil, nil, "sqlite", "")
	ok([]string{"--store", "postgres", "--store-url", "postgres://db/x"}, nil, "postgres", "postgres://db/x")
	ok(nil, []string{"ACCOUNTD_STORE=kurrentdb", "ACCOUNTD_STORE_URL=esdb://127.0.0.1:2113?tls=false"}, "kurrentdb", "esdb://127.0.0.1:2113?tls=false")
	for _, args := range [][]string{
		{"--store", "postgres"},
		{"--store", "mysql", "--store-url", "mysql://db"},
		{"--store-url", "postgres://db/x"},
	} {
		if _, err := parseServe(append([]string{"--data", dir}, args...), nil, io.Discard); err == nil {
			t.Fatalf("%v accepted", args)
		}
	}
}
