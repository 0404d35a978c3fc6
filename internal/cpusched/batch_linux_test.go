package cpusched

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// lockedThreads starts n goroutines that each hold a thread of their own until release is
// closed, so the runtime has to start threads; it returns their thread IDs.
func lockedThreads(t *testing.T, n int, before func()) (tids []int, release func()) {
	t.Helper()
	stop := make(chan struct{})
	ids := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			if before != nil {
				before()
			}
			ids <- unix.Gettid()
			<-stop
		})
	}
	for range n {
		tids = append(tids, <-ids)
	}
	return tids, func() { close(stop); wg.Wait() }
}

func policyOf(t *testing.T, tid int) *unix.SchedAttr {
	t.Helper()
	attr, err := unix.SchedGetAttr(tid, 0)
	if err != nil {
		t.Fatalf("sched_getattr %d: %v", tid, err)
	}
	return attr
}

func everyThread(t *testing.T) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	var tids []int
	for _, e := range entries {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids
}

func TestBatchMovesEveryThreadAndKeepsNiceValues(t *testing.T) {
	// One thread niced by its operator before: its nice value must survive the move.
	niced, releaseNiced := lockedThreads(t, 1, func() {
		if err := unix.Setpriority(unix.PRIO_PROCESS, 0, 7); err != nil {
			t.Errorf("setpriority: %v", err)
		}
	})
	defer releaseNiced()
	_, releaseEarly := lockedThreads(t, 4, nil)
	defer releaseEarly()

	moved, err := Batch()
	if err != nil || !moved {
		t.Fatalf("Batch() = %v, %v; want true, nil", moved, err)
	}
	// The slice is the same on every thread: Slice where the kernel takes one (6.12 on),
	// its own default where it does not.
	slice := policyOf(t, unix.Gettid()).Runtime
	t.Logf("slice %v (Slice %v)", time.Duration(slice), Slice)
	if uname := kernelRelease(t); !olderThan(uname, 6, 12) && slice != uint64(Slice) {
		t.Errorf("kernel %s: slice %v after Batch, want %v", uname, time.Duration(slice), Slice)
	}
	for _, tid := range everyThread(t) {
		attr, err := unix.SchedGetAttr(tid, 0)
		if err != nil {
			continue // the thread ended
		}
		if attr.Policy != unix.SCHED_BATCH || attr.Runtime != slice {
			t.Errorf("thread %d: policy %d, slice %v after Batch, want SCHED_BATCH (%d), %v", tid, attr.Policy, time.Duration(attr.Runtime), unix.SCHED_BATCH, time.Duration(slice))
		}
	}
	if attr := policyOf(t, niced[0]); attr.Nice != 7 {
		t.Errorf("the niced thread's nice value is %d after Batch, want 7", attr.Nice)
	}

	// Threads started afterwards inherit the policy.
	later, releaseLater := lockedThreads(t, 4, nil)
	defer releaseLater()
	for _, tid := range later {
		if attr := policyOf(t, tid); attr.Policy != unix.SCHED_BATCH || attr.Runtime != slice {
			t.Errorf("thread %d started after Batch: policy %d, slice %v; want SCHED_BATCH, %v", tid, attr.Policy, time.Duration(attr.Runtime), time.Duration(slice))
		}
	}
}

func TestBatchLeavesAPolicyAnOperatorChose(t *testing.T) {
	result := make(chan error, 1)
	go func() {
		// This thread is made SCHED_IDLE and never unlocked: the runtime ends it with the
		// goroutine instead of handing it to other goroutines.
		runtime.LockOSThread()
		idle := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_IDLE}
		if err := unix.SchedSetAttr(0, &idle, 0); err != nil {
			result <- err
			return
		}
		moved, err := Batch()
		switch {
		case err != nil:
			result <- err
		case moved:
			result <- errors.New("Batch moved a process whose thread runs under SCHED_IDLE")
		default:
			if attr, err := unix.SchedGetAttr(0, 0); err != nil || attr.Policy != unix.SCHED_IDLE {
				result <- errors.New("the SCHED_IDLE thread's policy changed")
				return
			}
			result <- nil
		}
	}()
	if err := <-result; err != nil {
		t.Fatal(err)
	}
}

func kernelRelease(t *testing.T) string {
	t.Helper()
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	return unix.ByteSliceToString(u.Release[:])
}

// olderThan reports whether a release such as "6.18.44-fc" is before major.minor.
func olderThan(release string, major, minor int) bool {
	var maj, mnr int
	if _, err := fmt.Sscanf(release, "%d.%d", &maj, &mnr); err != nil {
		return true
	}
	return maj < major || maj == major && mnr < minor
}
