package threadcpu

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestCounterTimesWorkOnItsThread: work that burns CPU is timed at about what it burned,
// and time spent waiting (off the CPU) is not counted. Concurrent pieces add up.
func TestCounterTimesWorkOnItsThread(t *testing.T) {
	var c Counter
	spin := func(d time.Duration) {
		done := c.Start()
		defer done()
		for start := time.Now(); time.Since(start) < d; {
		}
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { spin(20 * time.Millisecond) })
	}
	wg.Wait()
	idle := c.Start()
	time.Sleep(50 * time.Millisecond)
	idle()
	if c.Count() != 3 {
		t.Fatalf("%d pieces counted, want 3", c.Count())
	}
	if runtime.GOOS != "linux" {
		return
	}
	// The spins are at most 40 ms of CPU; the sleep adds next to none. A shared machine
	// may keep a spinning thread off the CPU, so the floor is low.
	if got := c.CPU(); got <= 0 || got > 45*time.Millisecond {
		t.Fatalf("thread CPU %v for two 20 ms spins and a 50 ms sleep, want in (0, 45ms]", got)
	}
}
