package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"accountd/http/api"
)

// The binary itself: built, started on a free port with nothing but a data directory, used
// as the login service would (health, a property, an account activated from its mail, a
// login), then stopped with SIGTERM, which it must survive cleanly.
func TestServeBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "accountd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	data := filepath.Join(dir, "data")
	cmd := exec.Command(bin, "serve", "--data", data, "--addr", "127.0.0.1:0", "--log-format", "json",
		"--argon2-memory-kib", "64", "--argon2-iterations", "1", "--sync", "normal", "--public-url", "http://login.test")
	cmd.Env = append(os.Environ(), "ACCOUNTD_POLICY_MFA_REQUIRED=false")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	addr := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs.Write(append(sc.Bytes(), '\n'))
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "accountd serving" {
				addr <- line.Addr
			}
		}
	}()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not start:\n%s", logs.String())
	}

	get := func(path string) int {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := get("/healthz"); s != http.StatusOK {
		t.Fatalf("/healthz: %d", s)
	}
	info, err := os.Stat(filepath.Join(data, "tokens"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("tokens file: %v %v", info, err)
	}
	raw, _ := os.ReadFile(filepath.Join(data, "tokens"))
	parsed, err := api.ParseTokens(string(raw))
	if err != nil || len(parsed) != 4 {
		t.Fatalf("generated tokens: %d %v", len(parsed), err)
	}
	tokens := map[api.Role]string{}
	for _, tok := range parsed {
		tokens[tok.Roles[0]] = tok.Secret
		if strings.Contains(logs.String(), tok.Secret) {
			t.Fatal("a token was written to the log")
		}
	}
	post := func(path string, role api.Role, body any) map[string]any {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, base+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+tokens[role])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out := map[string]any{}
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 300 || json.Unmarshal(raw, &out) != nil {
			t.Fatalf("POST %s: %s: %s", path, resp.Status, raw)
		}
		return out
	}
	prop := post("/v1/properties", api.RoleAdmin, map[string]string{"name": "Hotel du Lac", "primary_contact_email": "direction@lac.example"})
	post("/v1/accounts", api.RoleLoginService, map[string]string{"email": "anna@lac.example", "password": "Correct horse battery 42", "property_id": prop["property_id"].(string)})
	token := waitForLink(t, filepath.Join(data, "outbox"), "http://login.test/activate")
	post("/v1/activations", api.RoleLoginService, map[string]string{"token": token})
	login := post("/v1/logins", api.RoleLoginService, map[string]string{"email": "anna@lac.example", "password": "Correct horse battery 42", "ip": "192.0.2.1"})
	if login["decision"] != "allowed" || login["session_id"] == "" {
		t.Fatalf("login: %v", login)
	}

	stopped = true
	cmd.Process.Signal(syscall.SIGTERM)
	<-done
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, logs.String())
	}
	if !strings.Contains(logs.String(), "accountd stopped") {
		t.Fatalf("no clean stop in the log:\n%s", logs.String())
	}
}

var linkPattern = regexp.MustCompile(`https?://\S+\?token=\S+`)

// waitForLink reads the activation mail the file mailer wrote and returns its token.
func waitForLink(t *testing.T, dir, prefix string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
		for _, f := range files {
			fh, err := os.Open(f)
			if err != nil {
				continue
			}
			msg, err := mail.ReadMessage(fh)
			if err != nil {
				fh.Close()
				continue
			}
			body, _ := io.ReadAll(quotedprintable.NewReader(msg.Body))
			fh.Close()
			if link := linkPattern.FindString(string(body)); strings.HasPrefix(link, prefix) {
				u, _ := url.Parse(link)
				return u.Query().Get("token")
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no mail with a link to %s in %s", prefix, dir)
	return ""
}

// lockedBuffer is the server's log as it arrives: written by the reading goroutine, read
// by the test while the server still logs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
