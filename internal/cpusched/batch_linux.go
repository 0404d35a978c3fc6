package cpusched

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// Batch moves every thread of the process to SCHED_BATCH, keeping each one's nice value.
// Threads the Go runtime starts later inherit the policy from the thread that starts them,
// so once every thread runs under it, every later one does too; a thread started from one
// not yet moved is caught by the next pass over /proc/self/task. A process started under
// another policy than SCHED_NORMAL (chrt(1), a service manager's CPUSchedulingPolicy=) is
// left as it is, and Batch reports moved false: its operator has chosen.
func Batch() (moved bool, err error) {
	self, err := unix.SchedGetAttr(0, 0)
	if err != nil {
		return false, fmt.Errorf("cpusched: sched_getattr: %w", err)
	}
	switch self.Policy {
	case unix.SCHED_NORMAL:
	case unix.SCHED_BATCH:
		// The calling thread already is; the others may not be (an earlier Batch moved
		// them all, or an operator moved only this one): go on, it changes nothing twice.
	default:
		return false, nil
	}
	// Threads appear while the runtime runs; a handful of passes catch them all, since a
	// thread is only started from another and every pass moves every thread it finds.
	for range 16 {
		changed, err := batchPass()
		if err != nil {
			return false, err
		}
		if changed == 0 {
			return true, nil
		}
	}
	return false, fmt.Errorf("cpusched: threads kept starting under SCHED_NORMAL")
}

// batchPass moves to SCHED_BATCH each thread listed in /proc/self/task that runs under
// SCHED_NORMAL, and says how many it moved.
func batchPass() (changed int, err error) {
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
		if attr.Policy != unix.SCHED_NORMAL {
			continue
		}
		batch := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_BATCH, Nice: attr.Nice}
		if err := unix.SchedSetAttr(tid, &batch, 0); err == unix.ESRCH {
			continue
		} else if err != nil {
			return changed, fmt.Errorf("cpusched: sched_setattr %d: %w", tid, err)
		}
		changed++
	}
	return changed, nil
}
