package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"regexp"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"accountd/domain"
	"accountd/domain/credentials"
	"accountd/http/serve"
)

// BenchmarkLoginPath puts the login path beside its limit in one run: `accountd bench
// --workload logins -c 16` against an in-process server with the OWASP argon2id parameters
// and a durable log (what `accountd serve` runs), and, before and after it on the same
// cores, argon2id verifications with the same parameters by one goroutine per core. Every
// sign-in of the front-desk mix costs one verification (a typo and its correction are two
// sign-ins; an unknown e-mail verifies against the dummy hash), so logins/s over
// verifications/s is the share of the hash's limit the rest of the path leaves:
//
//	go test -run '^$' -bench LoginPath -benchtime 1x -v ./cmd/accountd/
//
// It reports the ratio twice: in wall-clock rates, and in process CPU time (user+system,
// client included) per login against per verification, which moves less with what else
// runs on a shared machine. ACCOUNTD_BENCH_LOGIN_SECONDS sets each phase's length (default
// 10); ACCOUNTD_BENCH_LOGIN_CPUPROFILE=FILE writes a CPU profile of the measured login
// phase alone (no set-up, no reference).
func BenchmarkLoginPath(b *testing.B) {
	seconds := 10
	if v, err := strconv.Atoi(os.Getenv("ACCOUNTD_BENCH_LOGIN_SECONDS")); err == nil && v > 0 {
		seconds = v
	}
	phase := time.Duration(seconds) * time.Second
	dir := b.TempDir()
	pol := domain.DefaultPolicy()
	pol.MFARequired = false
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := serve.New(ctx, serve.Config{DataDir: dir, Addr: "127.0.0.1:0", Policy: &pol,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		cancel()
		b.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.ListenAndServe(ctx) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			b.Errorf("serve: %v", err)
		}
	}()
	var url string
	for deadline := time.Now().Add(10 * time.Second); url == ""; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatal("the server did not record its address")
		}
		url, _ = serve.ServerURL(dir)
	}
	hasher, err := credentials.NewHasher(credentials.DefaultArgon2Params())
	if err != nil {
		b.Fatal(err)
	}
	phc, err := hasher.Hash("Correct horse battery 42")
	if err != nil {
		b.Fatal(err)
	}
	var measured time.Duration // process CPU of the measured login phase
	var cpu0 time.Duration
	benchMeasuring = func(start bool) {
		if start {
			if path := os.Getenv("ACCOUNTD_BENCH_LOGIN_CPUPROFILE"); path != "" {
				f, err := os.Create(path)
				if err != nil {
					b.Error(err)
				} else if err := pprof.StartCPUProfile(f); err != nil {
					b.Error(err)
				}
			}
			cpu0 = processCPU()
			return
		}
		measured = processCPU() - cpu0
		pprof.StopCPUProfile()
	}
	defer func() { benchMeasuring = func(bool) {} }()
	b.ResetTimer()
	for range b.N {
		before, beforeCPU := verificationsPerSecond(hasher, phc, phase)
		var stdout, stderr bytes.Buffer
		args := []string{"bench", "--url", url, "--data", dir, "--workload", "logins", "--accounts", "48",
			"--connections", "16", "--duration", phase.String(), "--warmup", "2s"}
		if code := run(args, nil, &stdout, &stderr); code != 0 {
			b.Fatalf("exit %d:\n%s%s", code, stdout.String(), stderr.String())
		}
		m := benchLoginRate.FindStringSubmatch(stdout.String())
		if m == nil {
			b.Fatalf("no login rate in:\n%s", stdout.String())
		}
		answered, _ := strconv.Atoi(m[1])
		secs, _ := strconv.ParseFloat(m[2], 64)
		logins := float64(answered) / secs
		after, afterCPU := verificationsPerSecond(hasher, phc, phase)
		ref := (before + after) / 2
		refCPU := (beforeCPU + afterCPU) / 2
		loginCPU := measured / time.Duration(max(answered, 1))
		b.Logf("logins %.1f/s; argon2id verifications %.1f/s before, %.1f/s after: ratio %.3f\n"+
			"CPU per login %v, per verification %v before, %v after: ratio %.3f\n%s",
			logins, before, after, logins/ref, loginCPU, beforeCPU, afterCPU, float64(refCPU)/float64(loginCPU), stdout.String())
		b.ReportMetric(logins, "logins/s")
		b.ReportMetric(ref, "verifications/s")
		b.ReportMetric(logins/ref, "ratio")
		b.ReportMetric(float64(refCPU)/float64(loginCPU), "cpu-ratio")
	}
}

var benchLoginRate = regexp.MustCompile(`(?m)^login\s+requests (\d+) in ([0-9.]+)s`)

// verificationsPerSecond runs argon2id verifications of a right password on every core
// for d, and returns their rate and the process CPU time each took.
func verificationsPerSecond(h *credentials.Hasher, phc string, d time.Duration) (float64, time.Duration) {
	var n atomic.Int64
	var wg sync.WaitGroup
	cpu0 := processCPU()
	start := time.Now()
	deadline := start.Add(d)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if !h.Verify(phc, "Correct horse battery 42") {
					panic("argon2id reference: the right password does not verify")
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	cpu := processCPU() - cpu0
	return float64(n.Load()) / time.Since(start).Seconds(), cpu / time.Duration(max(n.Load(), 1))
}

// processCPU is the user and system time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
