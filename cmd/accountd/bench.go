package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"accountd/http/api"
	"accountd/http/client"
)

const benchUsage = `Usage: accountd bench [flags]

Drives a running accountd over keep-alive connections and prints throughput and latency
percentiles. By default each connection sends its next request when the previous answer
arrives (closed loop: the throughput the server can sustain); with --rate requests are due
on a fixed schedule and latency counts from when each was due (what a latency objective at
that rate means). The generator shares the machine with the server, so on a small machine
it lowers what it measures.

Workloads (--workload):
  status  GET one account's status (the default). Without --path it first creates a
          property and an account (admin and login-service tokens from --data/tokens).
  logins  POST /v1/logins only, on a pool of --accounts staff accounts it sets up first.
  mixed   what a login front end sends: each login is followed by --reads-per-login
          GET /v1/accounts/{id}/status reads of the account it concerns.

The pool (logins, mixed): properties of 25 staff each, every account registered and
activated with the link in the activation mail, which the bench reads from the .eml files
in --data/outbox (so the server must run on this machine with file mail, not SMTP), plus
1 to 4 "victim" accounts that it locks on purpose. Each sign-in is drawn from a front-desk
mix:
  85%  right password;
   8%  a typo (invalid_credentials), then the right password (a second login);
   3%  an e-mail address that does not exist (answered like a wrong password);
   4%  an attacker hammering a victim with wrong passwords (denied, account_locked).
A staff account is used by one sign-in at a time and always from the same address, device
and browser, so its failures never reach the lockout threshold and the shared-account
detector has nothing to see. Unknown e-mails come from ever-new addresses and the attacker
from a few, so no address collects the distinct failing e-mails that make the
credential-stuffing detector throttle it. A 429 (too_many_attempts) is counted as
"throttled", not treated as a failure of the bench.

Examples:
  accountd bench --data ./data
  accountd bench --data ./data --connections 64 --rate 30000 --duration 20s
  accountd bench --data ./data --workload mixed --accounts 200 --connections 16 --duration 20s
  accountd bench --url http://127.0.0.1:8080 --token "$TOKEN" --path /v1/accounts/ID/status -c 64 -d 30s

Flags (environment equivalent in brackets):
`

const envBenchToken = envPrefix + "BENCH_TOKEN"

type benchFlags struct {
	url, token, path, data  string
	connections             int
	duration, warmup        time.Duration
	maxRequests, rate       int
	workload                string
	accounts, readsPerLogin int
}

func runBench(args, environ []string, stdout, stderr io.Writer) error {
	f := benchFlags{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.url, "url", "http://127.0.0.1:8080", "base URL of the server")
	fs.StringVar(&f.token, "token", "", "bearer token for the reads (default: the login-service token in --data/tokens)")
	fs.StringVar(&f.path, "path", "", "path to GET (default: create an account and read its status)")
	fs.StringVar(&f.data, "data", "./data", "data directory of the server, to find its generated tokens")
	fs.IntVar(&f.connections, "connections", 64, "concurrent keep-alive connections")
	fs.IntVar(&f.connections, "c", 64, "shorthand for --connections")
	fs.DurationVar(&f.duration, "duration", 10*time.Second, "measured run time")
	fs.DurationVar(&f.duration, "d", 10*time.Second, "shorthand for --duration")
	fs.DurationVar(&f.warmup, "warmup", time.Second, "unmeasured run time before the measurement")
	fs.IntVar(&f.maxRequests, "max-requests", 5_000_000, "stop after this many measured requests")
	fs.IntVar(&f.rate, "rate", 0, "requests per second in all, on a fixed schedule (0: as fast as answers come)")
	fs.StringVar(&f.workload, "workload", "status", "what to send: status, logins or mixed (see above)")
	fs.IntVar(&f.accounts, "accounts", 200, "staff accounts to set up for the logins and mixed workloads")
	fs.IntVar(&f.readsPerLogin, "reads-per-login", 4, "status reads after each login in the mixed workload")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), benchUsage)
		fs.VisitAll(func(fl *flag.Flag) {
			name, help := flag.UnquoteUsage(fl)
			fmt.Fprintf(fs.Output(), "  --%s %s\n    \t%s [%s] (default %q)\n", fl.Name, name, help, envName(fl.Name), fl.DefValue)
		})
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	env := envMap(environ)
	if err := applyEnv(fs, env); err != nil {
		return err
	}
	if f.connections < 1 || f.connections > 4096 || f.duration <= 0 || f.duration > time.Hour {
		return usageError{errors.New("want 1..4096 connections and a duration up to 1h")}
	}
	switch f.workload {
	case "status", "logins", "mixed":
	default:
		return usageError{fmt.Errorf("--workload %q: want status, logins or mixed", f.workload)}
	}
	if f.workload != "status" && (f.accounts < 1 || f.accounts > benchMaxAccounts || f.readsPerLogin < 0 || f.readsPerLogin > 100) {
		return usageError{fmt.Errorf("want 1..%d --accounts and 0..100 --reads-per-login", benchMaxAccounts)}
	}
	base := strings.TrimRight(f.url, "/")
	tokens := map[api.Role]string{}
	if data, err := os.ReadFile(filepath.Join(f.data, "tokens")); err == nil {
		parsed, err := api.ParseTokens(string(data))
		if err != nil {
			return err
		}
		for _, t := range parsed {
			for _, r := range t.Roles {
				tokens[r] = t.Secret
			}
		}
	}
	if f.token == "" {
		f.token = env[envBenchToken]
	}
	if f.token == "" {
		f.token = tokens[api.RoleLoginService]
	}
	if f.token == "" {
		return usageError{errors.New("no token: give --token or --data with the server's generated tokens")}
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		MaxIdleConnsPerHost: f.connections, MaxConnsPerHost: f.connections, DisableCompression: true,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}}
	target, err := url.Parse(base)
	if err != nil || target.Scheme != "http" || target.Host == "" {
		return usageError{fmt.Errorf("--url %q: want http://host:port (the generator speaks plain HTTP/1.1)", f.url)}
	}
	if f.workload != "status" {
		return benchLogins(f, client, target, tokens, stdout)
	}
	if f.path == "" {
		id, err := benchAccount(client, base, tokens)
		if err != nil {
			return fmt.Errorf("setting up an account to read: %w", err)
		}
		f.path = "/v1/accounts/" + id + "/status"
	}
	pace := "closed loop"
	if f.rate > 0 {
		pace = fmt.Sprintf("open loop at %d req/s", f.rate)
	}
	fmt.Fprintf(stdout, "GET %s%s with %d connections, %s, %s warm-up, %s measured\n", base, f.path, f.connections, pace, f.warmup, f.duration)
	request := fixedScript("GET " + f.path + " HTTP/1.1\r\nHost: " + target.Host + "\r\nAuthorization: Bearer " + f.token + "\r\nAccept: application/json\r\n\r\n")
	script := func(int) benchScript { return request }
	if f.warmup > 0 {
		load(target, 1, f.connections, f.warmup, f.maxRequests, f.rate, script)
	}
	r := load(target, 1, f.connections, f.duration, f.maxRequests, f.rate, script)[0]
	r.print(stdout)
	if r.ok == 0 {
		return errors.New("no request succeeded")
	}
	return nil
}

// benchAccount creates a property and an account to read, with the generated tokens.
func benchAccount(hc *http.Client, base string, tokens map[api.Role]string) (string, error) {
	if tokens[api.RoleAdmin] == "" || tokens[api.RoleLoginService] == "" {
		return "", errors.New("need the admin and login-service tokens in --data/tokens, or give --path")
	}
	ctx := context.Background()
	admin := client.New(base, tokens[api.RoleAdmin], hc)
	prop, err := admin.CreateProperty(ctx, "Bench Hotel", "bench@example.com")
	if err != nil {
		return "", err
	}
	email := fmt.Sprintf("bench-%d@example.com", time.Now().UnixNano())
	acc, err := admin.WithToken(tokens[api.RoleLoginService]).Register(ctx, client.Registration{Email: email, Password: "Bench password 2026!", PropertyID: prop.PropertyID})
	if err != nil {
		return "", err
	}
	// The status read waits for the registration's position, so the run measures reads, not 404s.
	if _, err := admin.WithToken(tokens[api.RoleLoginService]).Status(ctx, acc.AccountID, client.ReadAfter(acc.Position)); err != nil {
		return "", fmt.Errorf("the new account never appeared in the status read model: %w", err)
	}
	return acc.AccountID, nil
}

type loadResult struct {
	ok, failed, non2xx int
	elapsed            time.Duration
	latencies          []time.Duration
}

// benchRequest is one request of a workload: the kind it is counted under (an index into
// load's results), its bytes, and whether the script reads the answer's body.
type benchRequest struct {
	kind     int
	raw      []byte
	wantBody bool
}

// benchScript chooses one worker's requests, one after the other: next gives the request to
// send, done hands back its answer (status 0 and the error when the transport failed), and
// close is called when the worker stops, even between a next and its done.
type benchScript interface {
	next() benchRequest
	done(status int, body []byte, err error)
	close()
}

// fixedScript sends the same request again and again.
type fixedScript []byte

func (s fixedScript) next() benchRequest    { return benchRequest{raw: s} }
func (fixedScript) done(int, []byte, error) {}
func (fixedScript) close()                  {}

// load runs one worker per connection for d, each with the script newScript gives it, and
// returns one result per request kind. Each worker holds one keep-alive connection and
// speaks HTTP/1.1 itself: net/http's client costs several times the server's work per
// request, and on a small machine the generator would measure mostly itself. With rate 0
// each worker sends its next request when the previous answer arrives (closed loop). With a
// rate, requests are due on a fixed schedule and latency counts from when a request was
// due, not when it could be sent, so a stalled server is not hidden (coordinated omission).
func load(target *url.URL, kinds, connections int, d time.Duration, maxRequests, rate int, newScript func(worker int) benchScript) []loadResult {
	results := make([][]loadResult, connections)
	perWorker := max(maxRequests/connections, 1)
	var interval time.Duration
	if rate > 0 {
		interval = time.Duration(float64(time.Second) * float64(connections) / float64(rate))
	}
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for i := range connections {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rs := make([]loadResult, kinds)
			results[i] = rs
			for k := range rs {
				rs[k].latencies = make([]time.Duration, 0, min(perWorker, 1<<16))
			}
			script := newScript(i)
			defer script.close()
			var conn net.Conn
			var br *bufio.Reader
			var body []byte
			// Spread the workers' schedules over one interval.
			due := start.Add(interval * time.Duration(i) / time.Duration(connections))
			for n := 0; n < perWorker; n++ {
				now := time.Now()
				if interval > 0 {
					if due.After(now) {
						time.Sleep(due.Sub(now))
					}
				} else {
					due = now
				}
				if !due.Before(deadline) {
					break
				}
				req := script.next()
				if interval == 0 {
					due = time.Now() // closed loop: time the request, not the script's choice
				}
				r := &rs[req.kind]
				if conn == nil {
					c, err := net.DialTimeout("tcp", target.Host, 5*time.Second)
					if err != nil {
						r.failed++
						script.done(0, nil, err)
						due = due.Add(interval)
						continue
					}
					conn, br = c, bufio.NewReaderSize(c, 16<<10)
				}
				var bodyp *[]byte
				if req.wantBody {
					bodyp = &body
				}
				status, err := roundTrip(conn, br, req.raw, bodyp)
				if err != nil {
					r.failed++
					conn.Close()
					conn = nil
				} else {
					r.latencies = append(r.latencies, time.Since(due))
					if status/100 == 2 {
						r.ok++
					} else {
						r.non2xx++
					}
				}
				var got []byte
				if req.wantBody && err == nil {
					got = body
				}
				script.done(status, got, err)
				due = due.Add(interval)
			}
			if conn != nil {
				conn.Close()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	total := make([]loadResult, kinds)
	for k := range total {
		total[k].elapsed = elapsed
		for _, rs := range results {
			r := rs[k]
			total[k].ok += r.ok
			total[k].failed += r.failed
			total[k].non2xx += r.non2xx
			total[k].latencies = append(total[k].latencies, r.latencies...)
		}
	}
	return total
}

// roundTrip writes one request and reads one response with a Content-Length body, which is
// all accountd sends for small JSON answers. With body non-nil the answer's body is read
// into it (reusing its storage); otherwise it is skipped.
func roundTrip(conn net.Conn, br *bufio.Reader, request []byte, body *[]byte) (int, error) {
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return 0, err
	}
	if _, err := conn.Write(request); err != nil {
		return 0, err
	}
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	length := -1
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(line) <= 2 {
			break
		}
		if k, v, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(k, []byte("Content-Length")) {
			if length, err = strconv.Atoi(string(bytes.TrimSpace(v))); err != nil {
				return 0, fmt.Errorf("bad Content-Length %q", v)
			}
		}
	}
	if length < 0 {
		return 0, errors.New("response without Content-Length")
	}
	if body == nil {
		_, err = br.Discard(length)
		return status, err
	}
	if cap(*body) < length {
		*body = make([]byte, length)
	}
	*body = (*body)[:length]
	_, err = io.ReadFull(br, *body)
	return status, err
}

func (r loadResult) print(w io.Writer) { r.printAs(w, "") }

// printAs prints the result with each line prefixed by label (the request kind).
func (r loadResult) printAs(w io.Writer, label string) {
	n := r.ok + r.non2xx
	fmt.Fprintf(w, "%srequests %d in %.2fs: %.0f req/s (2xx %d, other status %d, transport errors %d)\n",
		label, n, r.elapsed.Seconds(), float64(n)/r.elapsed.Seconds(), r.ok, r.non2xx, r.failed)
	if len(r.latencies) == 0 {
		return
	}
	slices.Sort(r.latencies)
	pct := func(p float64) time.Duration {
		return r.latencies[min(int(p*float64(len(r.latencies))), len(r.latencies)-1)]
	}
	fmt.Fprintf(w, "%slatency p50 %v  p90 %v  p99 %v  p99.9 %v  max %v\n", label, pct(0.50), pct(0.90), pct(0.99), pct(0.999), r.latencies[len(r.latencies)-1])
}
