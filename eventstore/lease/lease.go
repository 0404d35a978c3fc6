// Package lease elects, through the store the nodes already share, the one node that runs
// each piece of singleton work: the outbox, each log stream, the inactivity sweep. Whatever
// acts on the outside world runs on exactly one node at a time.
//
// # Why a lease row with a fencing token, not an advisory lock
//
// A PostgreSQL session advisory lock is held as long as its connection lives, and only
// that long: a holder that stalls (a long GC pause, a frozen VM) keeps the lock while doing
// nothing, a network cut leaves the server holding it until TCP keepalives give up (minutes,
// unbounded by anything accountd sets), and nothing tells a holder that it lost the lock
// until it next talks to the server. A lease row instead has an expiry in the database's own
// clock: a holder that stops renewing loses the work after the TTL, whatever became of it,
// so the takeover time is bounded by a setting. Every acquisition increments the row's
// fencing token; the work's checkpoint is written only under the token that is current,
// so a holder that wakes after losing the lease cannot move the checkpoint back over its
// successor's. The row also says who holds what since when, which the nodes view shows.
//
// # Holding and losing
//
// The Elector (singleton.go) renews a held lease every Renew interval, well within the TTL,
// and stops the work (cancels its context and waits for it) when no renewal has succeeded
// for TTL minus a margin, before any other node may take over. The others try to acquire
// every Renew interval, so a dead holder's work moves within TTL + Renew.
//
// One node (SQLite, the memory log) has nothing to elect: Memory is a lease table inside
// the process, which grants its one node everything at once.
package lease

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors.
var (
	// ErrHeld: another holder has the lease and it has not expired.
	ErrHeld = errors.New("lease: held by another node")
	// ErrLost: the lease was taken over, released or revoked, or expired before the renewal.
	ErrLost = errors.New("lease: lost")
	// ErrFenced: a write under a fencing token that is no longer the lease's current one.
	ErrFenced = errors.New("lease: fenced: the work has a newer holder")
)

// Lease is one holder's hold on one piece of work.
type Lease struct {
	Name   string
	Holder string
	// Token is the fencing token: it grows with every acquisition of the lease, by anyone.
	Token uint64
	// Since is when the holder acquired it, Expires when it lapses unless renewed (in the
	// store's clock).
	Since, Expires time.Time
	// Previous is who held the lease before this acquisition ("" when nobody did). An
	// acquisition whose Previous is another holder is a takeover.
	Previous string
}

// Checkpoint is the position of a piece of singleton work, kept beside its lease.
type Checkpoint struct {
	Name     string
	Position uint64
	// Detail is what the work keeps with its position (a stream's destination).
	Detail    string
	UpdatedAt time.Time
}

// Node is a server as the others see it.
type Node struct {
	ID        string
	StartedAt time.Time
	LastSeen  time.Time
	Version   string
	// Position is the lowest position of the node's read models when it last reported.
	Position uint64
}

// Store is a lease table with fenced checkpoints and the nodes' heartbeats.
type Store interface {
	// Acquire takes the lease for holder when nobody holds it, its holder's lease expired
	// or was released, or holder itself holds it; otherwise ErrHeld, with the current lease.
	Acquire(ctx context.Context, name, holder string, ttl time.Duration) (Lease, error)
	// Renew extends a held lease to ttl from now; ErrLost when it is no longer l's.
	Renew(ctx context.Context, l Lease, ttl time.Duration) (Lease, error)
	// Release gives up a held lease at once, so another node takes over without waiting
	// for the expiry. Releasing a lease no longer held does nothing.
	Release(ctx context.Context, l Lease) error
	// Leases lists every lease still in force.
	Leases(ctx context.Context) ([]Lease, error)

	// LoadCheckpoint is the work's checkpoint (zero when none was written).
	LoadCheckpoint(ctx context.Context, name string) (Checkpoint, error)
	// SaveCheckpoint writes a checkpoint under l: refused with ErrFenced unless l's token is
	// the lease's current one and l.Holder its holder.
	SaveCheckpoint(ctx context.Context, l Lease, c Checkpoint) error
	// ResetCheckpoint writes a checkpoint from outside the work (an operator's reset) and
	// revokes the work's lease, so its holder stops and the next one starts from c.
	ResetCheckpoint(ctx context.Context, lease string, c Checkpoint) error

	// Heartbeat records that node is alive.
	Heartbeat(ctx context.Context, n Node) error
	// Nodes lists the nodes seen within the last maxAge, most recently started first.
	Nodes(ctx context.Context, maxAge time.Duration) ([]Node, error)
}

type leaseKey struct{}

// NewContext is ctx carrying the lease its work runs under: the work's fenced writes take
// their token from it.
func NewContext(ctx context.Context, l Lease) context.Context {
	return context.WithValue(ctx, leaseKey{}, l)
}

// FromContext is the lease ctx carries.
func FromContext(ctx context.Context) (Lease, bool) {
	l, ok := ctx.Value(leaseKey{}).(Lease)
	return l, ok
}
