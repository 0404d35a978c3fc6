package eventstore

import "sync"

// Notifier is the broadcast behind Store.Changes. A writer must never wait for a slow
// follower, and a follower only needs to know "there is something new", not how much: so
// each subscriber gets a channel of capacity one and Notify drops the signal when one is
// already pending. Several commits therefore coalesce into one wake-up, and the follower
// reads the log to find out what they were. The zero value is ready to use.
type Notifier struct {
	mu   sync.Mutex
	subs map[chan struct{}]struct{}
}

// Changes subscribes. The returned function unsubscribes; it is safe to call more than
// once. The channel is never closed, so a follower selects on it together with its own
// context.
func (n *Notifier) Changes() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	n.mu.Lock()
	if n.subs == nil {
		n.subs = make(map[chan struct{}]struct{})
	}
	n.subs[ch] = struct{}{}
	n.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			n.mu.Lock()
			delete(n.subs, ch)
			n.mu.Unlock()
		})
	}
}

// Notify wakes every subscriber that has no wake-up pending. It never blocks on a
// subscriber.
func (n *Notifier) Notify() {
	n.mu.Lock()
	for ch := range n.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	n.mu.Unlock()
}
