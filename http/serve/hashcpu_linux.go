package serve

import (
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// threadCPUStart locks the goroutine to its thread and reads the thread's CPU clock; ok is
// false if the clock could not be read (the goroutine is then not locked).
func threadCPUStart() (start time.Duration, ok bool) {
	runtime.LockOSThread()
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		runtime.UnlockOSThread()
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}

// threadCPUSince is the thread's CPU time since start, and unlocks the goroutine.
func threadCPUSince(start time.Duration) time.Duration {
	defer runtime.UnlockOSThread()
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano()+ru.Stime.Nano()) - start
}
