package eventstore

import "testing"

func TestNotifierCoalescesAndNeverBlocks(t *testing.T) {
	var n Notifier
	n.Notify() // no subscriber: must not block or panic

	ch, stop := n.Changes()
	defer stop()
	idle, stopIdle := n.Changes() // never read: Notify must not block on it
	defer stopIdle()
	for range 3 {
		n.Notify()
	}
	<-ch
	select {
	case <-ch:
		t.Fatal("three notifications before a read should coalesce into one wake-up")
	default:
	}
	if len(idle) != 1 {
		t.Fatalf("an unread subscriber holds %d pending wake-ups, want 1", len(idle))
	}
}

func TestNotifierStop(t *testing.T) {
	var n Notifier
	ch, stop := n.Changes()
	stop()
	stop()
	n.Notify()
	select {
	case <-ch:
		t.Fatal("a stopped subscription was woken")
	default:
	}
	if len(n.subs) != 0 {
		t.Fatalf("%d subscribers left after stop", len(n.subs))
	}
}
