package lease

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"
)

// Memory is a lease table in the process: for one node (the SQLite and memory logs) every
// acquisition succeeds at once, and several in-process holders still get the full contract
// (tests elect among them).
type Memory struct {
	mu     sync.Mutex
	now    func() time.Time
	leases map[string]Lease
	tokens map[string]uint64
	points map[string]Checkpoint
	nodes  map[string]Node
}

// NewMemory is an empty table on clock now (nil: time.Now).
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, leases: map[string]Lease{}, tokens: map[string]uint64{}, points: map[string]Checkpoint{}, nodes: map[string]Node{}}
}

var _ Store = (*Memory)(nil)

func (m *Memory) Acquire(ctx context.Context, name, holder string, ttl time.Duration) (Lease, error) {
	if err := ctx.Err(); err != nil {
		return Lease{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	cur, ok := m.leases[name]
	if ok && cur.Holder != holder && cur.Expires.After(now) {
		return cur, ErrHeld
	}
	m.tokens[name]++
	l := Lease{Name: name, Holder: holder, Token: m.tokens[name], Since: now, Expires: now.Add(ttl), Previous: cur.Holder}
	m.leases[name] = l
	return l, nil
}

func (m *Memory) Renew(ctx context.Context, l Lease, ttl time.Duration) (Lease, error) {
	if err := ctx.Err(); err != nil {
		return Lease{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	cur, ok := m.leases[l.Name]
	if !ok || cur.Holder != l.Holder || cur.Token != l.Token || !cur.Expires.After(now) {
		return l, ErrLost
	}
	cur.Expires = now.Add(ttl)
	m.leases[l.Name] = cur
	return cur, nil
}

func (m *Memory) Release(ctx context.Context, l Lease) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.leases[l.Name]
	if ok && cur.Holder == l.Holder && cur.Token == l.Token {
		cur.Expires = m.now()
		m.leases[l.Name] = cur
	}
	return nil
}

func (m *Memory) Leases(ctx context.Context) ([]Lease, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	var out []Lease
	for _, l := range m.leases {
		if l.Expires.After(now) {
			out = append(out, l)
		}
	}
	slices.SortFunc(out, func(a, b Lease) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

func (m *Memory) LoadCheckpoint(ctx context.Context, name string) (Checkpoint, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.points[name]
	if !ok {
		c.Name = name
	}
	return c, nil
}

func (m *Memory) SaveCheckpoint(ctx context.Context, l Lease, c Checkpoint) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur, ok := m.leases[l.Name]; !ok || cur.Token != l.Token || cur.Holder != l.Holder {
		return ErrFenced
	}
	c.UpdatedAt = m.now()
	m.points[c.Name] = c
	return nil
}

func (m *Memory) ResetCheckpoint(ctx context.Context, lease string, c Checkpoint) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur, ok := m.leases[lease]; ok {
		m.tokens[lease]++ // the holder's token is stale from now on
		cur.Expires = m.now()
		cur.Token = m.tokens[lease]
		m.leases[lease] = cur
	}
	c.UpdatedAt = m.now()
	m.points[c.Name] = c
	return nil
}

func (m *Memory) Heartbeat(ctx context.Context, n Node) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n.LastSeen = m.now()
	m.nodes[n.ID] = n
	return nil
}

func (m *Memory) Nodes(ctx context.Context, maxAge time.Duration) ([]Node, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	var out []Node
	for _, n := range m.nodes {
		if now.Sub(n.LastSeen) <= maxAge {
			out = append(out, n)
		}
	}
	slices.SortFunc(out, func(a, b Node) int { return cmp.Or(b.StartedAt.Compare(a.StartedAt), cmp.Compare(a.ID, b.ID)) })
	return out, nil
}
