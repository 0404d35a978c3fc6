package threadcpu

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestCounterTimesWorkOnItsThread: work that burns CPU is timed at about what it burned,
// concurrent pieces add up, and a piece that waits off the CPU (here, until the spinners
// have finished) adds next to nothing although it lasts longer than all of them.
func TestCounterTimesWorkOnItsThread(t *testing.T) {
	var c Counter
	var spun time.Duration // the spinners' wall time, at least their CPU
	var mu sync.Mutex
	spin := func(d time.Duration) {
		done := c.Start()
		defer done()
		start := time.Now()
		for time.Since(start) < d {
		}
		mu.Lock()
		spun += time.Since(start)
		mu.Unlock()
	}
	finished := make(chan struct{})
	waited := make(chan struct{})
	go func() {
		done := c.Start()
		<-finished
		done()
		close(waited)
	}()
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { spin(20 * time.Millisecond) })
	}
	wg.Wait()
	close(finished)
	<-waited
	if c.Count() != 3 {
		t.Fatalf("%d pieces counted, want 3", c.Count())
	}
	if runtime.GOOS != "linux" {
		return
	}
	// Counting the waiter's wall time would put the total above the spinners' wall time.
	if got := c.CPU(); got <= 0 || got > spun+2*time.Millisecond {
		t.Fatalf("thread CPU %v for spins of %v in all and a wait, want in (0, %v]", got, spun, spun+2*time.Millisecond)
	}
}
