// Package cpusched moves the process's threads to Linux's SCHED_BATCH scheduling policy.
//
// A login server spends most of its CPU in argon2id, tens of milliseconds a hash, one hash
// per core; everything else a sign-in does (HTTP, SQLite, the projections) runs in short
// bursts between waits. Under the default policy (SCHED_NORMAL) every thread that wakes
// for such a burst preempts the hash running on its core at once: measured on the login
// benchmark, hash threads were preempted about 760 times a second, and each hash cost 2-11%
// more CPU inside the server than alone, from the switches and the caches the burst
// evicted. SCHED_BATCH keeps each thread's share of the CPU (nice values and weights are
// unchanged) but a waking thread no longer preempts the running one; it runs when the
// running thread's slice ends or a core is idle. Nothing else changes: a short burst waits
// at most one slice, against a sign-in that waits tens of milliseconds for its hash.
//
// The slice (Slice) goes with it: a running thread is cut off when its slice is used up and
// another waits, and the kernel's default, about 1.4 ms on two cores, cut each 25 ms hash a
// dozen times. 10 ms is what the Go runtime itself lets a goroutine run before it preempts
// it (sysmon's forcePreemptNS), so the kernel cuts a hash no more often than Go would. On
// the login benchmark it halved the involuntary switches again and brought the CPU a sign-in
// costs outside the hash from about 2.0 to 1.5 ms (BENCHMARKS.md, issue 16). The price is
// latency only when every core runs a long computation: a short task then waits up to one
// slice.
//
// See sched(7), "SCHED_BATCH: Scheduling batch processes", and sched_setattr(2) on
// sched_runtime for the fair policies (Linux 6.12 and later).
package cpusched

import (
	"errors"
	"time"
)

// Slice is the time slice Batch asks for each thread.
const Slice = 10 * time.Millisecond

// ErrUnsupported is returned where the system has no SCHED_BATCH.
var ErrUnsupported = errors.New("cpusched: SCHED_BATCH is Linux's")
