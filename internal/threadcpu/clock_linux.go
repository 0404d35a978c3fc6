package threadcpu

import (
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// threadCPUStart locks the goroutine to its thread and reads the thread's CPU clock; ok is
// false if the clock could not be read (the goroutine is then not locked). The clock is
// CLOCK_THREAD_CPUTIME_ID, exact to the nanosecond: getrusage(RUSAGE_THREAD) lags a running
// thread by up to a scheduler tick, and read 0 for a short hash.
func threadCPUStart() (start time.Duration, ok bool) {
	runtime.LockOSThread()
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		runtime.UnlockOSThread()
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}

// threadCPUSince is the thread's CPU time since start, and unlocks the goroutine.
func threadCPUSince(start time.Duration) time.Duration {
	defer runtime.UnlockOSThread()
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano()) - start
}
