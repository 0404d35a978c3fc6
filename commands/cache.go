package commands

import (
	"container/list"
	"sync"
	"time"

	"accountd/domain"
	"accountd/eventstore"
)

// recentCommands is how many command IDs an aggregate remembers: enough for a client to
// retry after a timeout, bounded so a long-lived account does not grow without limit.
const recentCommands = 64

type appliedCommand struct {
	id       string
	revision uint64 // of its first event; its events are at consecutive revisions
	// events is nil for a command restored from a snapshot, which keeps only where they
	// are: a retry reads them from the log (Repository.appliedEvents).
	events    []domain.Event
	positions []uint64
}

// aggregateEntry is a folded aggregate at a revision. Entries are immutable once cached:
// a change makes a new entry, so readers holding an old one are never disturbed.
type aggregateEntry[S any] struct {
	state    S
	revision int64
	commands []appliedCommand // oldest first
	// position is the global position of the event at revision; maxAt the latest domain
	// time folded; snapRev the revision of the newest snapshot known to hold this stream
	// (-1: none), from which the next snapshot is due (Repository.EnableSnapshots).
	position uint64
	maxAt    time.Time
	snapRev  int64
	// erased: the stream holds an account's erasure. Its fold is never cached nor
	// snapshotted: before the key is destroyed it holds the personal data in clear, and a
	// copy kept here (on this node or any other that loaded it) would outlive the key.
	erased bool
}

func (e *aggregateEntry[S]) folded(ev domain.Event, position uint64) {
	if _, ok := ev.Data.(domain.AccountErased); ok {
		e.erased = true
	}
	e.position = position
	if ev.At.After(e.maxAt) {
		e.maxAt = ev.At
	}
}

func (e *aggregateEntry[S]) clone() *aggregateEntry[S] {
	c := *e
	c.commands = append([]appliedCommand(nil), e.commands...)
	return &c
}

func (e *aggregateEntry[S]) applied(commandID string) (appliedCommand, bool) {
	for i := len(e.commands) - 1; i >= 0; i-- {
		if e.commands[i].id == commandID {
			return e.commands[i], true
		}
	}
	return appliedCommand{}, false
}

func (e *aggregateEntry[S]) noteCommand(id string, ev domain.Event, revision, position uint64) {
	if id == "" {
		return
	}
	if n := len(e.commands); n > 0 && e.commands[n-1].id == id {
		last := &e.commands[n-1]
		if last.events != nil { // else restored from a snapshot: all of them are read from the log
			last.events = append(last.events, ev)
		}
		last.positions = append(last.positions, position)
		return
	}
	e.commands = append(e.commands, appliedCommand{id: id, revision: revision, events: []domain.Event{ev}, positions: []uint64{position}})
	if len(e.commands) > recentCommands {
		e.commands = e.commands[len(e.commands)-recentCommands:]
	}
}

func (e *aggregateEntry[S]) advance(evolve func(S, domain.Event) S, events []domain.Event, commandID string, res eventstore.AppendResult) *aggregateEntry[S] {
	next := e.clone()
	for i, ev := range events {
		next.state = evolve(next.state, ev)
		next.folded(ev, res.Positions[i])
		next.noteCommand(commandID, ev, uint64(e.revision+1)+uint64(i), res.Positions[i])
	}
	next.revision = int64(res.NextRevision)
	return next
}

// aggregateCache is a bounded LRU of folded aggregates by stream.
type aggregateCache[S any] struct {
	mu    sync.Mutex
	size  int
	order *list.List
	items map[string]*list.Element
}

type cacheItem[S any] struct {
	stream string
	entry  *aggregateEntry[S]
}

func newAggregateCache[S any](size int) *aggregateCache[S] {
	return &aggregateCache[S]{size: size, order: list.New(), items: map[string]*list.Element{}}
}

func (c *aggregateCache[S]) get(stream string) *aggregateEntry[S] {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[stream]
	if !ok {
		return nil
	}
	c.order.MoveToFront(el)
	return el.Value.(*cacheItem[S]).entry
}

func (c *aggregateCache[S]) put(stream string, e *aggregateEntry[S]) {
	if c.size <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[stream]; ok {
		item := el.Value.(*cacheItem[S])
		if e.revision >= item.entry.revision {
			item.entry = e
		}
		c.order.MoveToFront(el)
		return
	}
	c.items[stream] = c.order.PushFront(&cacheItem[S]{stream: stream, entry: e})
	for c.order.Len() > c.size {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*cacheItem[S]).stream)
	}
}

func (c *aggregateCache[S]) forget(stream string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[stream]; ok {
		c.order.Remove(el)
		delete(c.items, stream)
	}
}
