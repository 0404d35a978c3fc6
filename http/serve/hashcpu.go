package serve

import (
	"accountd/internal/threadcpu"

	"github.com/prometheus/client_golang/prometheus"
)

// hashCollectors expose the server's argon2id computations and the CPU they took on their
// own threads. A sign-in's cost is nearly all hash; whatever else the path costs (process
// CPU less this, per sign-in) is what an operator, or BenchmarkLoginPath, can act on. On
// this machine Go's CPU profile put the hash at 95% of the login path where perf and the
// threads' own clocks found 84-88% (BENCHMARKS.md, issue 16).
func hashCollectors(c *threadcpu.Counter) []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "accountd_password_hashes_total",
			Help: "argon2id computations (password hashes and verifications, the dummy one for unknown e-mails included).",
		}, func() float64 { return float64(c.Count()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "accountd_password_hash_cpu_seconds_total",
			Help: "CPU time the argon2id computations spent on their own threads (Linux only; 0 elsewhere).",
		}, func() float64 { return c.CPU().Seconds() }),
	}
}
