package detectors_test

import (
	"accountd/eventstore/eventlog"
	"context"
	crand "crypto/rand"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"accountd/commands"
	"accountd/domain"
	"accountd/domain/credentials"
	"accountd/eventstore"
	"accountd/eventstore/sqlite"
	"accountd/projections"
	"accountd/projections/detectors"
	"accountd/projections/timeline"
)

// BenchmarkProjectionLagUnderLoad is the load tool for the detectors: it appends login
// events straight to a SQLite log at a fixed rate while the runner follows with the status
// projection, the detectors and the timeline, and reports the apply lag of every event
// (from the moment its append was issued to the moment the slowest of the three had applied
// it) as p50/p99 metrics. One run takes ACCOUNTD_LAG_SECONDS:
//
//	go test -run '^$' -bench ProjectionLagUnderLoad -benchtime 1x -v ./projections/detectors/
//
// ACCOUNTD_LAG_RATE (events/s, default 5000), ACCOUNTD_LAG_SECONDS (default 10),
// ACCOUNTD_LAG_WRITERS (default 32), ACCOUNTD_LAG_ONLY (one projection's name) and
// ACCOUNTD_LAG_SPLIT (below) tune it. The target (p99 < 250 ms) is read from the report,
// not asserted.
func BenchmarkProjectionLagUnderLoad(b *testing.B) {
	for b.Loop() {
		p50, p99 := measureProjectionLag(b)
		b.ReportMetric(float64(p50.Microseconds())/1000, "p50-lag-ms")
		b.ReportMetric(float64(p99.Microseconds())/1000, "p99-lag-ms")
	}
}

func measureProjectionLag(t testing.TB) (p50, p99 time.Duration) {
	rate := envInt("ACCOUNTD_LAG_RATE", 5000)
	seconds := envInt("ACCOUNTD_LAG_SECONDS", 10)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	store, err := sqlite.Open(filepath.Join(dir, "events.db"), sqlite.WithSynchronous(sqlite.Normal))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	db, err := projections.OpenDB(filepath.Join(dir, "read.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	key := make([]byte, 32)
	crand.Read(key)
	mfa, _ := credentials.NewMFA(key, "lag")
	links, _ := credentials.NewLinkKey(key)
	hasher, _ := credentials.NewHasher(credentials.Argon2Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32})
	policy := domain.DefaultPolicy()
	svc, err := commands.NewService(commands.Config{Store: store, Clock: time.Now, Policy: func() domain.Policy { return policy }, Hasher: hasher, MFA: mfa, Links: links})
	if err != nil {
		t.Fatal(err)
	}
	det, err := detectors.New(detectors.Config{Policy: domain.DefaultDetectorPolicy(),
		Actions: commands.DetectionActions{Service: func() *commands.Service { return svc }, Throttles: commands.NewThrottles(store, time.Now, links), Properties: commands.NewPropertyDetections(store, time.Now)}})
	if err != nil {
		t.Fatal(err)
	}
	names := []string{projections.StatusName, detectors.Name, timeline.Name}
	ps := []projections.Projection{projections.NewStatus(), det, timeline.New()}
	if only := os.Getenv("ACCOUNTD_LAG_ONLY"); only != "" {
		for i, n := range names {
			if n == only {
				names, ps = names[i:i+1], ps[i:i+1]
				break
			}
		}
	}
	// ACCOUNTD_LAG_SPLIT picks the layout: unset, as accountd serve runs them (status on the
	// read models' file, detectors and timeline on security.db); "each", one file per
	// projection; "shared", all three on one file (SQLite has one writer per file, so they
	// queue for it: the reason serve splits them).
	runners := map[string]*projections.Runner{}
	split := os.Getenv("ACCOUNTD_LAG_SPLIT")
	if split == "" && len(names) == 3 {
		// As accountd serve runs them: status on the read models' file, the detectors and
		// the timeline on security.db with their own runner.
		sdb, err := projections.OpenDB(filepath.Join(dir, "security.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer sdb.Close()
		main, err := projections.NewRunner(ctx, store, db, nil, ps[0])
		if err != nil {
			t.Fatal(err)
		}
		sec, err := projections.NewRunner(ctx, store, sdb, nil, ps[1:]...)
		if err != nil {
			t.Fatal(err)
		}
		runners[names[0]], runners[names[1]], runners[names[2]] = main, sec, sec
		go main.Run(ctx)
		go sec.Run(ctx)
	} else if split == "each" {
		for i, n := range names {
			pdb, err := projections.OpenDB(filepath.Join(dir, n+".db"))
			if err != nil {
				t.Fatal(err)
			}
			defer pdb.Close()
			r, err := projections.NewRunner(ctx, store, pdb, nil, ps[i])
			if err != nil {
				t.Fatal(err)
			}
			runners[n] = r
			go r.Run(ctx)
		}
	} else {
		if os.Getenv("ACCOUNTD_LAG_ONECONN") != "" {
			db.SetMaxOpenConns(1)
		}
		r, err := projections.NewRunner(ctx, store, db, nil, ps...)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			runners[n] = r
		}
		go r.Run(ctx)
	}

	total := rate * seconds
	head, _ := store.HeadPosition(ctx)
	appended := make([]time.Time, int(head)+2*total+16)
	applied := make([]time.Time, len(appended))
	perName := map[string][]time.Time{}
	for _, n := range names {
		perName[n] = make([]time.Time, len(appended))
	}
	var mu sync.Mutex

	// One observer per projection; the lag of an event is the latest of their apply times.
	var wg sync.WaitGroup
	done := make(chan struct{})
	lastPos := make(chan uint64, 1)
	for _, name := range names {
		runner := runners[name]
		wg.Add(1)
		go func() {
			defer wg.Done()
			var last uint64 = head
			target := uint64(0)
			for {
				select {
				case target = <-lastPos:
					lastPos <- target
				default:
				}
				if target != 0 && last >= target {
					return
				}
				wctx, wcancel := context.WithTimeout(ctx, 50*time.Millisecond)
				err := runner.WaitFor(wctx, name, last+1)
				wcancel()
				if err != nil {
					select {
					case <-done:
						if target == 0 {
							continue
						}
					default:
					}
					continue
				}
				now := time.Now()
				pos := runner.Position(name)
				mu.Lock()
				for p := last + 1; p <= pos && int(p) < len(applied); p++ {
					if applied[p].Before(now) {
						applied[p] = now
					}
					perName[name][p] = now
				}
				mu.Unlock()
				last = pos
			}
		}()
	}

	// Writers: accounts log in from their own address and device, so the rules stay quiet
	// and the cost measured is following and windowing, not acting.
	writers := envInt("ACCOUNTD_LAG_WRITERS", 32)
	perWriter := total / writers
	interval := time.Second / time.Duration(rate/writers)
	var maxPos uint64
	var wmu sync.Mutex
	start := time.Now()
	var wwg sync.WaitGroup
	for w := range writers {
		wwg.Add(1)
		go func() {
			defer wwg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			next := time.Now()
			for i := range perWriter {
				next = next.Add(interval)
				if d := time.Until(next); d > 0 {
					time.Sleep(d)
				}
				acct := fmt.Sprintf("w%d-%d", w, rng.IntN(2000))
				ip := fmt.Sprintf("10.%d.%d.%d", w, rng.IntN(250), rng.IntN(250))
				var data domain.Payload
				switch i % 4 {
				case 0:
					data = domain.LoginSucceeded{Origin: domain.Origin{IP: "10.200." + strconv.Itoa(w) + ".1", DeviceID: acct}, SessionID: uuid.NewString()}
				case 1:
					data = domain.UnknownEmailLoginFailed{EmailHash: strconv.Itoa(rng.IntN(1 << 30)), Origin: domain.Origin{IP: ip}}
				default:
					data = domain.LoginFailed{Origin: domain.Origin{IP: ip}, Reason: domain.ReasonInvalidCredentials, FailedAttempts: 1}
				}
				stream := domain.AccountStream(acct)
				if _, ok := data.(domain.UnknownEmailLoginFailed); ok {
					stream = domain.UnknownEmailStream("h" + acct)
				}
				evs, err := eventlog.Encode(stream, domain.Metadata{CommandID: uuid.NewString()}, []domain.Event{{At: time.Now().UTC(), Data: data}})
				if err != nil {
					t.Error(err)
					return
				}
				issued := time.Now()
				res, err := store.Append(ctx, stream, eventstore.Any, evs...)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, p := range res.Positions {
					if int(p) < len(appended) {
						appended[p] = issued
					}
				}
				mu.Unlock()
				wmu.Lock()
				maxPos = max(maxPos, res.LastPosition())
				wmu.Unlock()
			}
		}()
	}
	wwg.Wait()
	elapsed := time.Since(start)
	close(done)
	lastPos <- maxPos
	waitAll := make(chan struct{})
	go func() { wg.Wait(); close(waitAll) }()
	select {
	case <-waitAll:
	case <-time.After(60 * time.Second):
		t.Fatal("projections did not catch up within 60 s of the end of the load")
	}

	var lags []time.Duration
	for p := head + 1; p <= maxPos; p++ {
		if appended[p].IsZero() || applied[p].IsZero() {
			continue
		}
		lags = append(lags, max(applied[p].Sub(appended[p]), 0))
	}
	slices.Sort(lags)
	pct := func(q float64) time.Duration { return lags[min(len(lags)-1, int(q*float64(len(lags))))] }
	t.Logf("appended %d login events in %s (%.0f events/s) with %d writers; lag over %d events: p50 %s, p90 %s, p99 %s, max %s",
		maxPos-head, elapsed.Round(time.Millisecond), float64(maxPos-head)/elapsed.Seconds(), writers, len(lags),
		pct(0.50), pct(0.90), pct(0.99), lags[len(lags)-1])
	for _, n := range names {
		var ls []time.Duration
		for p := head + 1; p <= maxPos; p++ {
			if !appended[p].IsZero() && !perName[n][p].IsZero() {
				ls = append(ls, max(perName[n][p].Sub(appended[p]), 0))
			}
		}
		slices.Sort(ls)
		t.Logf("  %-20s p50 %s, p99 %s", n, ls[len(ls)/2], ls[min(len(ls)-1, len(ls)*99/100)])
	}
	return pct(0.50), pct(0.99)
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
