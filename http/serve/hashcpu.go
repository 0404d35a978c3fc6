package serve

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// hashCPU counts the server's argon2id computations and the CPU time each spends on its own
// thread. A sign-in's cost is nearly all hash, and whatever else the path costs is what an
// operator (or BenchmarkLoginPath) can act on: process CPU less this, per sign-in. Go's CPU
// profile cannot say it: on this machine it put the hash at 95% of the login path where
// perf and the threads' own clocks found 84-88%, missing time spent in the kernel and in
// cgo (BENCHMARKS.md, issue 16).
type hashCPU struct {
	hashes atomic.Int64
	nanos  atomic.Int64
}

// meter is the Hasher's credentials.HashMeter. The goroutine stays on its thread for the
// computation, so the thread's clock is the hash's alone; the two clock reads cost about a
// microsecond against some 20 ms of hash.
func (c *hashCPU) meter() (done func()) {
	start, ok := threadCPUStart()
	return func() {
		if ok {
			c.nanos.Add(int64(threadCPUSince(start)))
		}
		c.hashes.Add(1)
	}
}

func (c *hashCPU) collectors() []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "accountd_password_hashes_total",
			Help: "argon2id computations (password hashes and verifications, the dummy one for unknown e-mails included).",
		}, func() float64 { return float64(c.hashes.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "accountd_password_hash_cpu_seconds_total",
			Help: "CPU time the argon2id computations spent on their own threads (Linux only; 0 elsewhere).",
		}, func() float64 { return time.Duration(c.nanos.Load()).Seconds() }),
	}
}
