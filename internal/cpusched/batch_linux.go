package cpusched

import (
	"fmt"
	"os"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// Batch moves every thread of the process to SCHED_BATCH with a Slice-long time slice,
// keeping each one's nice value. Threads the Go runtime starts later inherit both from the
// thread that starts them, so once every thread runs under them, every later one does too;
// a thread started from one not yet moved is caught by the next pass over /proc/self/task.
// A kernel that does not take a slice for SCHED_BATCH (before Linux 6.12) keeps its own.
// A process started under another policy than SCHED_NORMAL (chrt(1), a service manager's
// CPUSchedulingPolicy=) is left as it is, and Batch reports moved false: its operator has
// chosen.
func Batch() (moved bool, err error) {
	// The calling thread is moved first and read back: whether the kernel took the slice
	// decides what the passes below ask of the other threads.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	self, err := unix.SchedGetAttr(0, 0)
	if err != nil {
		return false, fmt.Errorf("cpusched: sched_getattr: %w", err)
	}
	if self.Policy != unix.SCHED_NORMAL && self.Policy != unix.SCHED_BATCH {
		return false, nil
	}
	want := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_BATCH, Nice: self.Nice, Runtime: uint64(Slice)}
	err = unix.SchedSetAttr(0, &want, 0)
	if err == unix.EINVAL { // a kernel that refuses a slice for a fair policy
		want.Runtime = 0
		err = unix.SchedSetAttr(0, &want, 0)
	}
	if err != nil {
		return false, fmt.Errorf("cpusched: sched_setattr: %w", err)
	}
	if got, err := unix.SchedGetAttr(0, 0); err != nil || got.Runtime != uint64(Slice) {
		want.Runtime = 0
	}
	// Threads appear while the runtime runs; a handful of passes catch them all, since a
	// thread is only started from another and every pass moves every thread it finds.
	for range 16 {
		changed, err := batchPass(want.Runtime)
		if err != nil {
			return false, err
		}
		if changed == 0 {
			return true, nil
		}
	}
	return false, fmt.Errorf("cpusched: threads kept starting under SCHED_NORMAL")
}

// batchPass moves to SCHED_BATCH, with the slice if it is not 0, each thread listed in
// /proc/self/task that runs under SCHED_NORMAL or under SCHED_BATCH without the slice, and
// says how many it moved.
func batchPass(slice uint64) (changed int, err error) {
	entries, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return 0, fmt.Errorf("cpusched: %w", err)
	}
	for _, e := range entries {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		attr, err := unix.SchedGetAttr(tid, 0)
		if err == unix.ESRCH {
			continue // the thread exited since the listing
		}
		if err != nil {
			return changed, fmt.Errorf("cpusched: sched_getattr %d: %w", tid, err)
		}
		switch {
		case attr.Policy == unix.SCHED_BATCH && (slice == 0 || attr.Runtime == slice):
			continue
		case attr.Policy != unix.SCHED_NORMAL && attr.Policy != unix.SCHED_BATCH:
			continue
		}
		batch := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_BATCH, Nice: attr.Nice, Runtime: slice}
		if err := unix.SchedSetAttr(tid, &batch, 0); err == unix.ESRCH {
			continue
		} else if err != nil {
			return changed, fmt.Errorf("cpusched: sched_setattr %d: %w", tid, err)
		}
		changed++
	}
	return changed, nil
}
