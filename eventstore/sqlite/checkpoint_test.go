package sqlite

import (
	"testing"
	"time"
)

func kicked(c *checkpointer) bool {
	select {
	case <-c.kick:
		return true
	default:
		return false
	}
}

// The checkpointer is woken by the first commit after a pass and by those that reach
// checkpointEvents, not by every commit in between.
func TestCheckpointerWakesOnFirstAndFullCommits(t *testing.T) {
	c := &checkpointer{kick: make(chan struct{}, 1)}
	steps := []struct {
		events int
		kick   bool
	}{
		{0, false}, // a failed batch committed nothing
		{1, true},  // the first since the pass: starts the wait
		{5, false},
		{checkpointEvents - 7, false},
		{1, true}, // reaches checkpointEvents
		{3, true}, // past it, while the pass is yet to begin
	}
	for i, s := range steps {
		c.notify(s.events)
		if got := kicked(c); got != s.kick {
			t.Fatalf("step %d (notify %d, pending %d): kicked %v, want %v", i, s.events, c.pending.Load(), got, s.kick)
		}
	}
	c.pending.Store(0) // a pass began
	if c.notify(2); !kicked(c) {
		t.Fatal("the first commit after a pass did not wake the checkpointer")
	}
}

func TestCheckpointerGathersUntilEnoughEvents(t *testing.T) {
	c := &checkpointer{kick: make(chan struct{}, 1), wait: time.Hour}
	stop := make(chan struct{})
	done := make(chan bool)
	c.notify(1)
	<-c.kick // taken by run before gather
	go func() { done <- c.gather(stop) }()
	c.notify(checkpointEvents)
	if !<-done {
		t.Fatal("gather gave up although enough events were pending")
	}

	c.pending.Store(1)
	go func() { done <- c.gather(stop) }()
	close(stop)
	if <-done {
		t.Fatal("gather went on after stop")
	}
}

func TestCheckpointerCopiesAFewEventsAfterItsWait(t *testing.T) {
	c := &checkpointer{kick: make(chan struct{}, 1), wait: time.Millisecond}
	c.pending.Store(1)
	if !c.gather(make(chan struct{})) {
		t.Fatal("gather did not return after its wait")
	}
}
