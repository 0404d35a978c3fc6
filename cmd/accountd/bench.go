package main

import (
	"bufio"
	"bytes"
	"encoding/json"
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
)

const benchUsage = `Usage: accountd bench [flags]

Drives a running accountd over keep-alive connections and prints throughput and latency
percentiles. By default each connection sends its next GET when the previous answer
arrives (closed loop: the throughput the server can sustain); with --rate requests are due
on a fixed schedule and latency counts from when each was due (what a latency objective at
that rate means). Without --path it first creates a property and an account (admin and
login-service tokens from --data/tokens) and reads that account's status. The generator
shares the machine with the server, so on a small machine it lowers what it measures.

Examples:
  accountd bench --data ./data
  accountd bench --data ./data --connections 64 --rate 30000 --duration 20s
  accountd bench --url http://127.0.0.1:8080 --token "$TOKEN" --path /v1/accounts/ID/status -c 64 -d 30s

Flags (environment equivalent in brackets):
`

const envBenchToken = envPrefix + "BENCH_TOKEN"

type benchFlags struct {
	url, token, path, data string
	connections            int
	duration, warmup       time.Duration
	maxRequests, rate      int
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
	if f.path == "" {
		id, err := benchAccount(client, base, tokens)
		if err != nil {
			return fmt.Errorf("setting up an account to read: %w", err)
		}
		f.path = "/v1/accounts/" + id + "/status"
	}
	target, err := url.Parse(base)
	if err != nil || target.Scheme != "http" || target.Host == "" {
		return usageError{fmt.Errorf("--url %q: want http://host:port (the generator speaks plain HTTP/1.1)", f.url)}
	}
	pace := "closed loop"
	if f.rate > 0 {
		pace = fmt.Sprintf("open loop at %d req/s", f.rate)
	}
	fmt.Fprintf(stdout, "GET %s%s with %d connections, %s, %s warm-up, %s measured\n", base, f.path, f.connections, pace, f.warmup, f.duration)
	if f.warmup > 0 {
		load(target, f.path, f.token, f.connections, f.warmup, f.maxRequests, f.rate)
	}
	r := load(target, f.path, f.token, f.connections, f.duration, f.maxRequests, f.rate)
	r.print(stdout)
	if r.ok == 0 {
		return errors.New("no request succeeded")
	}
	return nil
}

// benchAccount creates a property and an account to read, with the generated tokens.
func benchAccount(client *http.Client, base string, tokens map[api.Role]string) (string, error) {
	if tokens[api.RoleAdmin] == "" || tokens[api.RoleLoginService] == "" {
		return "", errors.New("need the admin and login-service tokens in --data/tokens, or give --path")
	}
	var prop struct {
		PropertyID string `json:"property_id"`
	}
	if err := postJSON(client, base+"/v1/properties", tokens[api.RoleAdmin], map[string]string{"name": "Bench Hotel", "primary_contact_email": "bench@example.com"}, &prop); err != nil {
		return "", err
	}
	var acc struct {
		AccountID string `json:"account_id"`
	}
	email := fmt.Sprintf("bench-%d@example.com", time.Now().UnixNano())
	body := map[string]string{"email": email, "password": "Bench password 2026!", "property_id": prop.PropertyID}
	if err := postJSON(client, base+"/v1/accounts", tokens[api.RoleLoginService], body, &acc); err != nil {
		return "", err
	}
	// Wait until the status projection has the account, so the run measures reads, not 404s.
	for range 50 {
		req, _ := http.NewRequest(http.MethodGet, base+"/v1/accounts/"+acc.AccountID+"/status", nil)
		req.Header.Set("Authorization", "Bearer "+tokens[api.RoleLoginService])
		if resp, err := client.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return acc.AccountID, nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return "", errors.New("the new account never appeared in the status read model")
}

func postJSON(client *http.Client, url, token string, in, out any) error {
	b, _ := json.Marshal(in)
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("POST %s: %s: %s", url, resp.Status, bytes.TrimSpace(body))
	}
	return json.Unmarshal(body, out)
}

type loadResult struct {
	ok, failed, non2xx int
	elapsed            time.Duration
	latencies          []time.Duration
}

// load runs one worker per connection for d. Each worker holds one keep-alive connection
// and speaks HTTP/1.1 itself: net/http's client costs several times the server's work per
// request, and on a small machine the generator would measure mostly itself. With rate 0
// each worker sends its next request when the previous answer arrives (closed loop). With a
// rate, requests are due on a fixed schedule and latency counts from when a request was
// due, not when it could be sent, so a stalled server is not hidden (coordinated omission).
func load(target *url.URL, path, token string, connections int, d time.Duration, maxRequests, rate int) loadResult {
	request := []byte("GET " + path + " HTTP/1.1\r\nHost: " + target.Host + "\r\nAuthorization: Bearer " + token + "\r\nAccept: application/json\r\n\r\n")
	results := make([]loadResult, connections)
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
			r := &results[i]
			r.latencies = make([]time.Duration, 0, min(perWorker, 1<<16))
			var conn net.Conn
			var br *bufio.Reader
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
				if conn == nil {
					c, err := net.DialTimeout("tcp", target.Host, 5*time.Second)
					if err != nil {
						r.failed++
						due = due.Add(interval)
						continue
					}
					conn, br = c, bufio.NewReaderSize(c, 16<<10)
				}
				status, err := roundTrip(conn, br, request)
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
				due = due.Add(interval)
			}
			if conn != nil {
				conn.Close()
			}
		}()
	}
	wg.Wait()
	total := loadResult{elapsed: time.Since(start)}
	for _, r := range results {
		total.ok += r.ok
		total.failed += r.failed
		total.non2xx += r.non2xx
		total.latencies = append(total.latencies, r.latencies...)
	}
	return total
}

// roundTrip writes one request and reads one response with a Content-Length body, which is
// all accountd sends for small JSON answers.
func roundTrip(conn net.Conn, br *bufio.Reader, request []byte) (int, error) {
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
	_, err = br.Discard(length)
	return status, err
}

func (r loadResult) print(w io.Writer) {
	n := r.ok + r.non2xx
	fmt.Fprintf(w, "requests %d in %.2fs: %.0f req/s (2xx %d, other status %d, transport errors %d)\n",
		n, r.elapsed.Seconds(), float64(n)/r.elapsed.Seconds(), r.ok, r.non2xx, r.failed)
	if len(r.latencies) == 0 {
		return
	}
	slices.Sort(r.latencies)
	pct := func(p float64) time.Duration {
		return r.latencies[min(int(p*float64(len(r.latencies))), len(r.latencies)-1)]
	}
	fmt.Fprintf(w, "latency p50 %v  p90 %v  p99 %v  p99.9 %v  max %v\n", pct(0.50), pct(0.90), pct(0.99), pct(0.999), r.latencies[len(r.latencies)-1])
}
