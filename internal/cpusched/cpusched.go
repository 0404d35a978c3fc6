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
// See sched(7), "SCHED_BATCH: Scheduling batch processes".
package cpusched

import "errors"

// ErrUnsupported is returned where the system has no SCHED_BATCH.
var ErrUnsupported = errors.New("cpusched: SCHED_BATCH is Linux's")
