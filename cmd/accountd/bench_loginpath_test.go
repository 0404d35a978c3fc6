package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"accountd/domain"
	"accountd/domain/credentials"
	"accountd/http/serve"
	"accountd/internal/threadcpu"
)

// BenchmarkLoginPath puts the login path beside its limit in one run: `accountd bench
// --workload logins -c 16` against an in-process server with the OWASP argon2id parameters
// and a durable log (what `accountd serve` runs), and, around it on the same cores,
// argon2id verifications with the same Hasher by one goroutine per core. Every sign-in of
// the front-desk mix costs one verification (a typo and its correction are two sign-ins;
// an unknown e-mail verifies against the dummy hash), so logins/s over verifications/s is
// the share of the hash's limit the rest of the path leaves:
//
//	go test -run '^$' -bench LoginPath -benchtime 1x -v ./cmd/accountd/
//
// The phases alternate, reference and logins, R L R L R: a shared machine's speed drifts
// by 15% and more within a minute, and a login phase compared with the references on both
// its sides sees the same drift as they do. It reports the ratio twice, each from the sums
// over all rounds (every round's ratios are logged too): in wall-clock rates, and in
// process CPU time (user+system, client included) per login against per verification,
// which moves less with what else runs on the machine. It also reports the CPU a login
// costs outside the hash: the login phases' process CPU less what the server's argon2id
// computations took on their own threads (accountd_password_hash_cpu_seconds_total), the
// part of the path there is to cut, and the figure that moves least with the machine's
// speed (BENCHMARKS.md, issue 16), and the hash's own CPU per login against per reference
// verification (hash-cpu-ratio: above 1 when the hash costs more inside the server than
// alone). ACCOUNTD_BENCH_LOGIN_SECONDS sets
// each phase's length (default 10), ACCOUNTD_BENCH_LOGIN_ROUNDS the number of login phases
// (default 2); ACCOUNTD_BENCH_LOGIN_CPUPROFILE=FILE writes a CPU profile and
// ACCOUNTD_BENCH_LOGIN_TRACE=FILE a runtime trace of each measured login phase alone (no
// set-up, no warm-up, no reference), the first in FILE, the second in FILE.2 and so on.
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
	// The reference's hashes on their own threads' clocks, as the server's are: whether a
	// hash costs more inside the server than alone (it shares the caches) is then a number.
	var refHash threadcpu.Counter
	hasher.SetMeter(refHash.Start)
	rounds := 2
	if v, err := strconv.Atoi(os.Getenv("ACCOUNTD_BENCH_LOGIN_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	var measured phaseCPU // of the current measured login phase
	var cpu0, hash0 time.Duration
	var round int
	benchMeasuring = func(start bool) {
		if start {
			round++
			startProfiles(b, round)
			hash0 = hashCPU(b, url)
			cpu0 = processCPU()
			return
		}
		measured.process = processCPU() - cpu0
		measured.hash = hashCPU(b, url) - hash0
		pprof.StopCPUProfile()
		trace.Stop()
	}
	defer func() { benchMeasuring = func(bool) {} }()
	b.ResetTimer()
	for range b.N {
		// R L R ... L R: each login phase lies between two references, and the ratios are
		// of the sums, each reference weighing half on either side, so a drift of the
		// machine's speed through the run moves both sides alike.
		refs := []refPhase{verificationsPerSecond(hasher, phc, phase)}
		var logins []loginPhase
		var out bytes.Buffer
		for range rounds {
			logins = append(logins, loginRun(b, url, dir, phase, &measured, &out))
			refs = append(refs, verificationsPerSecond(hasher, phc, phase))
		}
		var loginN, loginSecs, refRate, refCPU float64
		var loginCPU, outside, hashed time.Duration
		var perRound []float64
		for i, l := range logins {
			loginN += float64(l.n)
			loginSecs += l.secs
			loginCPU += l.cpu
			outside += l.cpu - l.hashCPU
			hashed += l.hashCPU
			r := (refs[i].rate + refs[i+1].rate) / 2
			refRate += r / float64(len(logins))
			c := (refs[i].cpu + refs[i+1].cpu) / 2
			refCPU += float64(c) / float64(len(logins))
			fmt.Fprintf(&out, "round %d: logins %.1f/s, CPU per login %v (outside the hash %v); verifications %.1f/s, %v / %.1f/s, %v: ratio %.3f, CPU ratio %.3f\n",
				i+1, float64(l.n)/l.secs, l.cpu/time.Duration(max(l.n, 1)), (l.cpu-l.hashCPU)/time.Duration(max(l.n, 1)),
				refs[i].rate, refs[i].cpu, refs[i+1].rate, refs[i+1].cpu,
				float64(l.n)/l.secs/r, float64(c)/float64(l.cpu/time.Duration(max(l.n, 1))))
			perRound = append(perRound, float64(l.n)/l.secs/r)
		}
		rate := loginN / loginSecs
		perLogin := float64(loginCPU) / loginN
		b.Logf("%slogins %.1f/s against argon2id verifications %.1f/s: ratio %.3f (median of rounds %.3f)\n"+
			"CPU per login %v against per verification %v: ratio %.3f; outside the hash %v per login\n"+
			"the hash's own CPU: %v per login in the server, %v per reference verification (%.3fx)",
			out.String(), rate, refRate, rate/refRate, median(perRound), time.Duration(perLogin), time.Duration(refCPU), refCPU/perLogin,
			time.Duration(float64(outside)/loginN), time.Duration(float64(hashed)/loginN), refHash.CPU()/time.Duration(max(refHash.Count(), 1)),
			float64(hashed)/loginN/float64(refHash.CPU()/time.Duration(max(refHash.Count(), 1))))
		b.ReportMetric(rate, "logins/s")
		b.ReportMetric(refRate, "verifications/s")
		b.ReportMetric(rate/refRate, "ratio")
		b.ReportMetric(refCPU/perLogin, "cpu-ratio")
		b.ReportMetric(float64(outside)/loginN/1e6, "outside-hash-ms/login")
		b.ReportMetric(float64(hashed)/loginN/float64(refHash.CPU()/time.Duration(max(refHash.Count(), 1))), "hash-cpu-ratio")
	}
}

// startProfiles starts the CPU profile and the runtime trace of a measured login phase
// that the environment asks for: in FILE for the first, FILE.2 for the second, and so on.
func startProfiles(b *testing.B, round int) {
	name := func(path string) string {
		if round > 1 {
			return fmt.Sprintf("%s.%d", path, round)
		}
		return path
	}
	if path := os.Getenv("ACCOUNTD_BENCH_LOGIN_CPUPROFILE"); path != "" {
		f, err := os.Create(name(path))
		if err != nil {
			b.Error(err)
		} else if err := pprof.StartCPUProfile(f); err != nil {
			b.Error(err)
		}
	}
	if path := os.Getenv("ACCOUNTD_BENCH_LOGIN_TRACE"); path != "" {
		f, err := os.Create(name(path))
		if err != nil {
			b.Error(err)
		} else if err := trace.Start(f); err != nil {
			b.Error(err)
		}
	}
}

type loginPhase struct {
	n       int
	secs    float64
	cpu     time.Duration // the process's
	hashCPU time.Duration // the server's argon2id computations' own
}

// phaseCPU is what a measured login phase cost: the whole process, and the hashes within.
type phaseCPU struct{ process, hash time.Duration }

// hashCPU reads the CPU time the server's argon2id computations have taken on their own
// threads (accountd_password_hash_cpu_seconds_total), so a phase's CPU outside the hash is
// the process's less its growth: the cost the rest of the path adds, which Go's CPU profile
// undercounts and the wall-clock ratio drowns in the machine's drift.
func hashCPU(b *testing.B, url string) time.Duration {
	res, err := http.Get(url + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(string(body)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "accountd_password_hash_cpu_seconds_total "); ok {
			secs, err := strconv.ParseFloat(v, 64)
			if err != nil {
				b.Fatal(err)
			}
			return time.Duration(secs * float64(time.Second))
		}
	}
	b.Fatal("/metrics lacks accountd_password_hash_cpu_seconds_total")
	return 0
}

// loginRun runs one measured phase of `accountd bench --workload logins` (with its own
// 48 accounts and warm-up) and appends its report to out.
func loginRun(b *testing.B, url, dir string, phase time.Duration, measured *phaseCPU, out *bytes.Buffer) loginPhase {
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
	out.Write(stdout.Bytes())
	return loginPhase{n: answered, secs: secs, cpu: measured.process, hashCPU: measured.hash}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

var benchLoginRate = regexp.MustCompile(`(?m)^login\s+requests (\d+) in ([0-9.]+)s`)

type refPhase struct {
	rate float64
	cpu  time.Duration // process CPU per verification
}

// verificationsPerSecond runs argon2id verifications of a right password on every core
// for d, and returns their rate and the process CPU time each took.
func verificationsPerSecond(h *credentials.Hasher, phc string, d time.Duration) refPhase {
	var n atomic.Int64
	var wg sync.WaitGroup
	cpu0 := processCPU()
	start := time.Now()
	deadline := start.Add(d)
	for range h.Concurrency() {
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
	return refPhase{rate: float64(n.Load()) / time.Since(start).Seconds(), cpu: cpu / time.Duration(max(n.Load(), 1))}
}

// processCPU is the user and system time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
