//go:build !linux

package serve

import "time"

// A thread's CPU clock is read on Linux only: elsewhere the hashes are counted, not timed.
func threadCPUStart() (time.Duration, bool) { return 0, false }

func threadCPUSince(time.Duration) time.Duration { return 0 }
