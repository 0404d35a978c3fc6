package serve_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"accountd/domain"
	"accountd/domain/credentials"
	"accountd/eventstore"
	"accountd/eventstore/sqlite"
	"accountd/http/api"
	"accountd/http/serve"
	"accountd/projections"
)

// The end-to-end tests drive the real server (serve.New: SQLite log, read models, runner,
// outbox, API) over loopback HTTP, with an injected clock and argon2id at its cheapest.

const goodPassword = "Correct horse battery 42"

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type env struct {
	t      *testing.T
	srv    *serve.Server
	ts     *httptest.Server
	clock  *testClock
	data   string
	tokens map[api.Role]string
	mail   *mailbox
}

func cheapArgon2() *credentials.Argon2Params {
	return &credentials.Argon2Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}
}

// testPolicy is the default policy without mandatory MFA, which most flows do not exercise.
func testPolicy(change func(*domain.Policy)) *domain.Policy {
	p := domain.DefaultPolicy()
	p.MFARequired = false
	if change != nil {
		change(&p)
	}
	return &p
}

func newEnv(t *testing.T, policy *domain.Policy, configure ...func(*serve.Config)) *env {
	t.Helper()
	return newEnvWith(t, policy, configure...)
}

// newEnvWith is newEnv with the server's configuration changed by configure.
func newEnvWith(t *testing.T, policy *domain.Policy, configure ...func(*serve.Config)) *env {
	t.Helper()
	if policy == nil {
		policy = testPolicy(nil)
	}
	data := t.TempDir()
	clock := &testClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	ctx := context.Background()
	cfg := serve.Config{
		DataDir: data, Policy: policy, Sync: sqlite.Normal, Argon2: cheapArgon2(), Clock: clock.Now,
		Logger: testLogger(t), StatusWait: 300 * time.Millisecond, TokensReload: 20 * time.Millisecond,
	}
	for _, f := range configure {
		f(&cfg)
	}
	// The listener comes first, so the links in mails point at this test server and a
	// browser can follow them.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://" + ln.Addr().String()
	}
	srv, err := serve.New(ctx, cfg)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	srv.Start(ctx)
	ts := httptest.NewUnstartedServer(srv.Handler())
	ts.Listener.Close()
	ts.Listener = ln
	ts.Start()
	t.Cleanup(func() {
		ts.Close()
		if err := srv.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	e := &env{t: t, srv: srv, ts: ts, clock: clock, data: data, tokens: map[api.Role]string{}}
	e.mail = newMailbox(e)
	loadTokens(t, e)
	return e
}

// testLogger keeps server logs out of the output unless a test fails (then go test shows
// what t.Log collected).
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

type response struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

// str returns a string field of the body ("" when absent).
func (r response) str(key string) string {
	s, _ := r.body[key].(string)
	return s
}

func (r response) num(key string) float64 {
	n, _ := r.body[key].(float64)
	return n
}

func (r response) position() uint64 { return uint64(r.num("position")) }

func (r response) errCode() domain.Code {
	e, _ := r.body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return domain.Code(c)
}

// call sends one request. body is sent as is when it is a string, as JSON otherwise; the
// role picks the bearer token ("" sends none).
func (e *env) call(method, path string, role api.Role, body any, headers ...string) response {
	e.t.Helper()
	var sent []byte
	switch b := body.(type) {
	case nil:
	case string:
		sent = []byte(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		sent = j
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(sent)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+e.tokens[role])
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if err := checkContract(method, req.URL.RequestURI(), req.Header, sent, resp.StatusCode, resp.Header, raw); err != nil {
		e.t.Error(err)
	}
	out := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	// Bodies that are not JSON (a checkpoint's signed note, a CSV, a zip) are left in raw.
	if ct := resp.Header.Get("Content-Type"); len(raw) > 0 && (ct == "" || strings.Contains(ct, "json")) {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			e.t.Fatalf("%s %s: response is not a JSON object: %v: %s", method, path, err, raw)
		}
	}
	return out
}

func (e *env) post(path string, role api.Role, body any, headers ...string) response {
	e.t.Helper()
	return e.call(http.MethodPost, path, role, body, headers...)
}

func (e *env) get(path string, role api.Role, headers ...string) response {
	e.t.Helper()
	return e.call(http.MethodGet, path, role, nil, headers...)
}

// must fails the test unless the response has the status.
func (e *env) must(r response, status int) response {
	e.t.Helper()
	if r.status != status {
		e.t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	return r
}

func (e *env) createProperty(name string) string {
	e.t.Helper()
	r := e.must(e.post("/v1/properties", api.RoleAdmin, map[string]string{"name": name, "primary_contact_email": "direction@" + strings.ToLower(strings.ReplaceAll(name, " ", "-")) + ".example"}), http.StatusCreated)
	return r.str("property_id")
}

// register creates an account through the API (pending activation) and returns its ID
// and the position to read it at.
func (e *env) register(email, propertyID string) (string, uint64) {
	e.t.Helper()
	r := e.must(e.post("/v1/accounts", api.RoleLoginService, map[string]string{"email": email, "password": goodPassword, "property_id": propertyID}), http.StatusCreated)
	return r.str("account_id"), r.position()
}

// activeAccount registers an account and activates it with the link from its mail.
func (e *env) activeAccount(email string) string {
	e.t.Helper()
	id, _ := e.register(email, "")
	token := e.mail.link(email, "activation")
	e.must(e.post("/v1/activations", api.RoleLoginService, map[string]string{"token": token}), http.StatusOK)
	return id
}

func (e *env) login(email, password string, extra ...string) response {
	e.t.Helper()
	body := map[string]string{"email": email, "password": password, "ip": "192.0.2.10", "user_agent": "e2e-test"}
	for i := 0; i+1 < len(extra); i += 2 {
		body[extra[i]] = extra[i+1]
	}
	return e.must(e.post("/v1/logins", api.RoleLoginService, body), http.StatusOK)
}

// status reads an account's status after the given write, so it reflects that write.
func (e *env) status(accountID string, after uint64) response {
	e.t.Helper()
	return e.must(e.get("/v1/accounts/"+accountID+"/status?min_position="+itoa(after), api.RoleLoginService), http.StatusOK)
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// events reads every event of a stream.
func (e *env) events(stream string) []eventstore.RecordedEvent {
	e.t.Helper()
	recs, err := e.srv.Store().ReadStream(context.Background(), stream, 0, 100000)
	if err != nil {
		e.t.Fatal(err)
	}
	return recs
}

func countType(recs []eventstore.RecordedEvent, typ string) int {
	n := 0
	for _, r := range recs {
		if r.Type == typ {
			n++
		}
	}
	return n
}

// settled waits until every projection of both runners has applied the log's head as it is
// now: what must have happened by then has, so an assertion that nothing else did means it.
func (e *env) settled() {
	e.t.Helper()
	settle(e.t, e.srv)
}

func settle(t *testing.T, srv *serve.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	head, err := srv.Store().HeadPosition(ctx)
	if err != nil {
		t.Fatal(err)
	}
	runners := map[string]*projections.Runner{"projections": srv.Runner(), "security": srv.SecurityRunner()}
	for label, r := range runners {
		for _, name := range r.Names() {
			if err := r.WaitFor(ctx, name, head); err != nil {
				t.Fatalf("%s runner: %v", label, err)
			}
		}
	}
}
