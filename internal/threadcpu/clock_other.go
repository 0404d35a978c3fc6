//go:build !linux

package threadcpu

import "time"

// A thread's CPU clock is read on Linux only: elsewhere work is counted, not timed.
func threadCPUStart() (time.Duration, bool) { return 0, false }

func threadCPUSince(time.Duration) time.Duration { return 0 }
