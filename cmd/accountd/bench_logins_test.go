package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"accountd/domain"
	"accountd/eventstore/sqlite"
	"accountd/http/api"
	"accountd/http/serve"
)

// benchServer starts an in-process server on a fresh data directory, with cheap argon2 and
// MFA not required, and returns its URL and data directory.
func benchServer(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	pol := domain.DefaultPolicy()
	pol.MFARequired = false
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := serve.New(ctx, serve.Config{DataDir: dir, Addr: "127.0.0.1:0", Sync: sqlite.Normal, Argon2: &demoArgon2, Policy: &pol,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.ListenAndServe(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	var url string
	for deadline := time.Now().Add(10 * time.Second); url == ""; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the server did not record its address")
		}
		url, _ = serve.ServerURL(dir)
	}
	return url, dir
}

var (
	benchOutcomeLine = regexp.MustCompile(`^  (\S.*?)\s+(\d+)(?:  \((.*)\))?$`)
	benchRequestLine = regexp.MustCompile(`^(\w+)\s+requests (\d+) in [0-9.]+s: \d+ req/s \(2xx (\d+), other status (\d+), transport errors (\d+)\)$`)
	benchVictimsLine = regexp.MustCompile(`; victims ([^)]*)\)`)
)

// benchReport is what the logins and mixed workloads print, read back.
type benchReport struct {
	requests map[string][4]int // kind: answered, 2xx, other status, transport errors
	latency  map[string]bool   // kinds with a latency line
	outcomes map[string]int    // outcome: count
	byIntent map[string]string // outcome: split by intent
	total    int               // from the "login outcomes (N attempts)" line
	victims  []string
}

func parseBenchReport(t *testing.T, out string) benchReport {
	t.Helper()
	r := benchReport{requests: map[string][4]int{}, latency: map[string]bool{}, outcomes: map[string]int{}, byIntent: map[string]string{}, total: -1}
	inOutcomes := false
	for line := range strings.SplitSeq(out, "\n") {
		if m := benchVictimsLine.FindStringSubmatch(line); m != nil && strings.HasPrefix(line, "set up ") {
			r.victims = strings.Fields(m[1])
		}
		if m := benchRequestLine.FindStringSubmatch(line); m != nil {
			var v [4]int
			for i := range v {
				v[i], _ = strconv.Atoi(m[i+2])
			}
			r.requests[m[1]] = v
			continue
		}
		if f := strings.Fields(line); len(f) > 2 && f[1] == "latency" && f[2] == "p50" {
			r.latency[f[0]] = true
		}
		if n, ok := strings.CutPrefix(line, "login outcomes ("); ok {
			r.total, _ = strconv.Atoi(strings.Fields(n)[0])
			inOutcomes = true
			continue
		}
		if m := benchOutcomeLine.FindStringSubmatch(line); inOutcomes && m != nil {
			r.outcomes[m[1]], _ = strconv.Atoi(m[2])
			r.byIntent[m[1]] = m[3]
		} else {
			inOutcomes = false
		}
	}
	return r
}

func TestBenchLogins(t *testing.T) {
	url, dir := benchServer(t)
	var stdout, stderr bytes.Buffer
	args := []string{"bench", "--url", url, "--data", dir, "--workload", "logins", "--accounts", "10", "--connections", "4", "--duration", "1s", "--warmup", "200ms"}
	if code := run(args, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d:\n%s%s", code, stdout.String(), stderr.String())
	}
	out := stdout.String()
	r := parseBenchReport(t, out)
	login, ok := r.requests["login"]
	if !ok || !r.latency["login"] {
		t.Fatalf("no login throughput or latency line:\n%s", out)
	}
	if _, ok := r.requests["status"]; ok {
		t.Errorf("the logins workload reports status reads:\n%s", out)
	}
	sum := 0
	for _, n := range r.outcomes {
		sum += n
	}
	if r.total != sum || sum != login[0]+login[3] || sum == 0 {
		t.Errorf("outcomes add up to %d, the header says %d, the login line %d answered + %d transport errors:\n%s", sum, r.total, login[0], login[3], out)
	}
	if r.outcomes["allowed"] == 0 || r.outcomes["denied invalid_credentials"] == 0 || r.outcomes["denied account_locked"] == 0 {
		t.Errorf("want allowed logins and denials for invalid_credentials and account_locked:\n%s", out)
	}
	if r.outcomes[outcomeError] != 0 || r.outcomes[outcomeThrottled] != 0 || login[2] != 0 || login[3] != 0 {
		t.Errorf("errors, throttles or other statuses:\n%s", out)
	}
	// Nothing drifts: every right password is allowed, every lock is a victim's.
	if r.byIntent["allowed"] != "right password "+strconv.Itoa(r.outcomes["allowed"]) {
		t.Errorf("allowed logins are not all (and only) right passwords: %q\n%s", r.byIntent["allowed"], out)
	}
	if r.byIntent["denied account_locked"] != "locked victim "+strconv.Itoa(r.outcomes["denied account_locked"]) {
		t.Errorf("locked denials are not all victims': %q\n%s", r.byIntent["denied account_locked"], out)
	}
	if strings.Contains(r.byIntent["denied invalid_credentials"], "right password") {
		t.Errorf("a right password was refused: %q\n%s", r.byIntent["denied invalid_credentials"], out)
	}
	for _, k := range []string{"note:", "mfa"} {
		if strings.Contains(out, k) {
			t.Errorf("output mentions %q:\n%s", k, out)
		}
	}

	// The victims are locked in the server's read model; the staff are not.
	if len(r.victims) == 0 {
		t.Fatalf("no victims named:\n%s", out)
	}
	for _, id := range r.victims {
		if body := benchStatus(t, url, dir, id); !strings.Contains(body, `"code":"account_locked"`) {
			t.Errorf("victim %s is not locked: %s", id, body)
		}
	}
}

func TestBenchMixedAndStatus(t *testing.T) {
	url, dir := benchServer(t)
	var stdout, stderr bytes.Buffer
	args := []string{"bench", "--url", url, "--data", dir, "--workload", "mixed", "--reads-per-login", "3", "--accounts", "5", "--connections", "2", "--duration", "500ms", "--warmup", "0s"}
	if code := run(args, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d:\n%s%s", code, stdout.String(), stderr.String())
	}
	out := stdout.String()
	r := parseBenchReport(t, out)
	login, status := r.requests["login"], r.requests["status"]
	if !r.latency["login"] || !r.latency["status"] || login[1] == 0 || status[1] == 0 {
		t.Fatalf("want login and status lines:\n%s", out)
	}
	// Each login is followed by three reads; the run may stop between them.
	if status[0] > 3*login[0] || status[0] < 3*(login[0]-2) || status[2] != 0 {
		t.Errorf("%d logins, %d status reads (%d not 2xx), want three reads per login:\n%s", login[0], status[0], status[2], out)
	}

	// The default workload keeps its output.
	stdout.Reset()
	stderr.Reset()
	args = []string{"bench", "--url", url, "--data", dir, "--connections", "2", "--duration", "300ms", "--warmup", "0s"}
	if code := run(args, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d:\n%s%s", code, stdout.String(), stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "GET "+url+"/v1/accounts/") ||
		!regexp.MustCompile(`^requests \d+ in [0-9.]+s: \d+ req/s \(2xx \d+, other status 0, transport errors 0\)$`).MatchString(lines[1]) ||
		!strings.HasPrefix(lines[2], "latency p50 ") {
		t.Errorf("status workload output:\n%s", stdout.String())
	}

	// Bad flags are usage errors.
	for _, bad := range [][]string{{"--workload", "posts"}, {"--workload", "logins", "--accounts", "0"}, {"--workload", "mixed", "--reads-per-login", "-1"}} {
		stdout.Reset()
		stderr.Reset()
		if code := run(append([]string{"bench", "--url", url, "--data", dir}, bad...), nil, &stdout, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2: %s", bad, code, stderr.String())
		}
	}
}

// benchStatus reads an account's status with the login-service token from dir/tokens.
func benchStatus(t *testing.T, url, dir, id string) string {
	t.Helper()
	token := benchToken(t, dir, api.RoleLoginService)
	req, _ := http.NewRequest(http.MethodGet, url+"/v1/accounts/"+id+"/status", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status of %s: %s %s", id, resp.Status, body)
	}
	return string(body)
}

func benchToken(t *testing.T, dir string, role api.Role) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "tokens"))
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := api.ParseTokens(string(b))
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range tokens {
		for _, r := range tk.Roles {
			if r == role {
				return tk.Secret
			}
		}
	}
	t.Fatalf("no %s token in %s/tokens", role, dir)
	return ""
}
