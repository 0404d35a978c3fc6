// Package threadcpu counts pieces of work and the CPU time each takes on its own thread,
// read from the thread's CPU clock (Linux; elsewhere the work is counted, not timed). The
// server meters its argon2id computations with it, and BenchmarkLoginPath its reference
// verifications, so that the hash's CPU and everything else a sign-in costs are told
// apart: Go's CPU profile cannot, since it misses time spent in the kernel and in cgo.
package threadcpu

import (
	"sync/atomic"
	"time"
)

// Counter is safe for concurrent use; the zero value counts from zero.
type Counter struct {
	n     atomic.Int64
	nanos atomic.Int64
}

// Start is called as a piece of work begins, on the goroutine that does it, and the
// function it returns as the work ends. The goroutine stays on its thread in between, so
// the thread's clock is the work's alone; the two clock reads cost about a microsecond.
func (c *Counter) Start() (done func()) {
	start, ok := threadCPUStart()
	return func() {
		if ok {
			c.nanos.Add(int64(threadCPUSince(start)))
		}
		c.n.Add(1)
	}
}

// Count is how many pieces of work have ended.
func (c *Counter) Count() int64 { return c.n.Load() }

// CPU is the thread CPU time they took (0 where the clock is not read).
func (c *Counter) CPU() time.Duration { return time.Duration(c.nanos.Load()) }
