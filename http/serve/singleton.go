package serve

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"accountd/eventstore"
	"accountd/eventstore/lease"
	"accountd/eventstore/postgres"
	"accountd/http/api"
	"accountd/projections/streams"
)

// Singleton work: what acts on the outside world runs on one node at a time, the holder of
// its lease (package lease). The names are the lease names and, on PostgreSQL, the names
// of their checkpoints in the shared work_checkpoints table.
const (
	WorkOutbox = "outbox"
	WorkSweep  = "inactivity-sweep"
	// WorkStreamPrefix + a stream's name is the stream's work.
	WorkStreamPrefix = "stream:"
)

// nodeMaxAge is how long a node that stopped reporting stays in the nodes view.
const nodeMaxAge = 24 * time.Hour

// openLeases chooses the lease table: the shared log's on PostgreSQL (the nodes elect the
// holder of each singleton work there, and the work's checkpoints live beside it), an
// in-process one otherwise (SQLite has one node; KurrentDB has no lease table yet, so each
// node elects itself and the operator keeps singleton work on one node, as before).
func (s *Server) openLeases(raw eventstore.Store) error {
	if pg, ok := raw.(*postgres.Store); ok {
		s.leases, s.sharedLeases = pg.Leases(), true
	} else {
		s.leases = lease.NewMemory(nil)
		if s.cfg.Store == StoreKurrentDB {
			s.log.Warn("the kurrentdb store has no lease table: every node runs the outbox, the sweep and its streams; keep them on one node (--outbox=false, --sweep=false and no --stream elsewhere)")
		}
	}
	id := s.cfg.NodeID
	if id == "" {
		host, _ := os.Hostname()
		var b [4]byte
		_, _ = rand.Read(b[:])
		id = fmt.Sprintf("%s-%s", host, hex.EncodeToString(b[:]))
	}
	s.nodeID, s.startedAt = id, time.Now().UTC()
	s.elector = &lease.Elector{Store: s.leases, Holder: id, TTL: s.cfg.LeaseTTL, Renew: s.cfg.LeaseRenew, Logger: s.log.With("component", "lease"),
		Quiet: !s.sharedLeases}
	return s.elector.Validate()
}

// NodeID is this node's name in the lease table.
func (s *Server) NodeID() string { return s.nodeID }

// Elector is this node's side of the elections, for tests and metrics.
func (s *Server) Elector() *lease.Elector { return s.elector }

// listElected names the singleton work this node competes for, as configured.
func (s *Server) listElected() {
	if !s.cfg.DisableOutbox {
		s.elected = append(s.elected, WorkOutbox)
	}
	if !s.cfg.DisableSweep {
		s.elected = append(s.elected, WorkSweep)
	}
	if s.streams != nil {
		for _, name := range s.streams.Names() {
			s.elected = append(s.elected, WorkStreamPrefix+name)
		}
	}
}

// runElected runs work under name's lease: on this node only while the node holds it.
func (s *Server) runElected(ctx context.Context, name string, work func(context.Context) error) {
	s.run(ctx, name, workerFunc(func(ctx context.Context) error { return s.elector.Run(ctx, name, work) }))
}

type workerFunc func(context.Context) error

func (f workerFunc) Run(ctx context.Context) error { return f(ctx) }

// heartbeat records this node in the nodes table every renew interval, with its read
// models' position.
type heartbeat struct{ s *Server }

func (h heartbeat) Run(ctx context.Context) error {
	renew := h.s.cfg.LeaseRenew
	if renew <= 0 {
		renew = lease.DefaultRenew
	}
	t := time.NewTicker(renew)
	defer t.Stop()
	warned := false
	for {
		err := h.s.leases.Heartbeat(ctx, lease.Node{ID: h.s.nodeID, StartedAt: h.s.startedAt, Version: h.s.cfg.Version, Position: h.s.readPosition()})
		if err != nil && ctx.Err() == nil && !warned {
			h.s.log.Warn("node heartbeat failed; retrying", "error", err)
		}
		warned = err != nil
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// readPosition is the lowest position of this node's read models.
func (s *Server) readPosition() uint64 {
	var low uint64
	first := true
	for _, r := range []interface {
		Names() []string
		Position(string) uint64
	}{s.runner, s.securityRunner} {
		for _, n := range r.Names() {
			if p := r.Position(n); first || p < low {
				low, first = p, false
			}
		}
	}
	return low
}

// sharedOutbox is the outbox's shared checkpoint, written under its lease.
type sharedOutbox struct{ leases lease.Store }

func (o sharedOutbox) Load(ctx context.Context) (uint64, error) {
	c, err := o.leases.LoadCheckpoint(ctx, WorkOutbox)
	return c.Position, err
}

func (o sharedOutbox) Save(ctx context.Context, pos uint64) error {
	l, ok := lease.FromContext(ctx)
	if !ok {
		return fmt.Errorf("outbox: %w: not running under its lease", lease.ErrFenced)
	}
	return o.leases.SaveCheckpoint(ctx, l, lease.Checkpoint{Name: WorkOutbox, Position: pos})
}

// sharedStreams are the streams' checkpoints in the shared store, written under each
// stream's lease.
type sharedStreams struct{ leases lease.Store }

func (p sharedStreams) Load(ctx context.Context, name string) (uint64, string, error) {
	c, err := p.leases.LoadCheckpoint(ctx, WorkStreamPrefix+name)
	return c.Position, c.Detail, err
}

func (p sharedStreams) Save(ctx context.Context, name string, pos uint64, dest string) error {
	l, ok := lease.FromContext(ctx)
	if !ok || l.Name != WorkStreamPrefix+name {
		return fmt.Errorf("stream %s: %w: not running under its lease", name, lease.ErrFenced)
	}
	return p.leases.SaveCheckpoint(ctx, l, lease.Checkpoint{Name: WorkStreamPrefix + name, Position: pos, Detail: dest})
}

func (p sharedStreams) Reset(ctx context.Context, name string, pos uint64, dest string) error {
	return p.leases.ResetCheckpoint(ctx, WorkStreamPrefix+name, lease.Checkpoint{Name: WorkStreamPrefix + name, Position: pos, Detail: dest})
}

// SharedStreamPositions are the streams' checkpoints in a PostgreSQL log's shared store
// (false: the log keeps none, and the checkpoints are DATA/streams.db's).
func SharedStreamPositions(store eventstore.Store) (streams.Positions, bool) {
	if pg, ok := eventstore.As[*postgres.Store](store); ok { // through the sealing store
		return sharedStreams{pg.Leases()}, true
	}
	return nil, false
}

// workPosition is how far a singleton work has got: its shared checkpoint on PostgreSQL,
// this node's own otherwise (false: the work keeps no position, as the sweep).
func (s *Server) workPosition(ctx context.Context, name string) (uint64, bool, error) {
	if name == WorkSweep {
		return 0, false, nil
	}
	if s.sharedLeases {
		c, err := s.leases.LoadCheckpoint(ctx, name)
		return c.Position, err == nil, err
	}
	if name == WorkOutbox {
		return s.outbox.Position(), true, nil
	}
	if stream, ok := strings.CutPrefix(name, WorkStreamPrefix); ok && s.streams != nil {
		if st, ok := s.streams.Stream(stream); ok {
			return st.Position(), true, nil
		}
	}
	return 0, false, nil
}

// Nodes is GET /v1/admin/nodes: every node seen in the last day, the work each holds with
// its position and lag behind the log's head.
func (s *Server) Nodes(ctx context.Context) (api.NodesView, error) {
	head, err := s.store.HeadPosition(ctx)
	if err != nil {
		return api.NodesView{}, err
	}
	lag := func(pos uint64) (uint64, error) { return eventstore.EventsBetween(ctx, s.store, pos, head, 0) }
	nodes, err := s.leases.Nodes(ctx, nodeMaxAge)
	if err != nil {
		return api.NodesView{}, err
	}
	held, err := s.leases.Leases(ctx)
	if err != nil {
		return api.NodesView{}, err
	}
	view := api.NodesView{HeadPosition: head, NodeID: s.nodeID, Nodes: []api.NodeStatus{}, Unheld: []string{}}
	holders := map[string]bool{}
	for _, n := range nodes {
		st := api.NodeStatus{NodeID: n.ID, StartedAt: n.StartedAt.UTC(), LastSeen: n.LastSeen.UTC(), Version: n.Version, Position: n.Position,
			ThisNode: n.ID == s.nodeID, Holds: []api.WorkStatus{}}
		if st.Lag, err = lag(n.Position); err != nil {
			return api.NodesView{}, err
		}
		for _, l := range held {
			if l.Holder != n.ID {
				continue
			}
			holders[l.Name] = true
			w := api.WorkStatus{Work: l.Name, Since: l.Since.UTC(), ExpiresAt: l.Expires.UTC(), FencingToken: l.Token}
			pos, ok, err := s.workPosition(ctx, l.Name)
			if err != nil {
				return api.NodesView{}, err
			}
			if ok {
				w.Position = &pos
				l, err := lag(pos)
				if err != nil {
					return api.NodesView{}, err
				}
				w.Lag = &l
			}
			st.Holds = append(st.Holds, w)
		}
		view.Nodes = append(view.Nodes, st)
	}
	for _, name := range s.elected {
		if !holders[name] && !slices.Contains(view.Unheld, name) {
			view.Unheld = append(view.Unheld, name)
		}
	}
	return view, nil
}

// leaseCollector exposes this node's leases: which work it holds, and how often it
// acquired, took over and lost each since start.
type leaseCollector struct{ s *Server }

var (
	leaseHeldDesc      = prometheus.NewDesc("accountd_lease_held", "1 while this node holds the work's lease and runs it, 0 while another node (or none) does.", []string{"work"}, nil)
	leaseAcquiredDesc  = prometheus.NewDesc("accountd_lease_acquired_total", "Times this node acquired the work's lease.", []string{"work"}, nil)
	leaseTakeoversDesc = prometheus.NewDesc("accountd_lease_takeovers_total", "Times this node took the work over from another node.", []string{"work"}, nil)
	leaseLostDesc      = prometheus.NewDesc("accountd_lease_lost_total", "Times this node lost the work's lease (taken away, revoked, or not renewed in time).", []string{"work"}, nil)
)

func (c leaseCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- leaseHeldDesc
	ch <- leaseAcquiredDesc
	ch <- leaseTakeoversDesc
	ch <- leaseLostDesc
}

func (c leaseCollector) Collect(ch chan<- prometheus.Metric) {
	held := c.s.elector.Held()
	acquired, takeovers, lost := c.s.elector.Counts()
	for _, name := range c.s.elected {
		v := 0.0
		if _, ok := held[name]; ok {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(leaseHeldDesc, prometheus.GaugeValue, v, name)
		ch <- prometheus.MustNewConstMetric(leaseAcquiredDesc, prometheus.CounterValue, float64(acquired[name]), name)
		ch <- prometheus.MustNewConstMetric(leaseTakeoversDesc, prometheus.CounterValue, float64(takeovers[name]), name)
		ch <- prometheus.MustNewConstMetric(leaseLostDesc, prometheus.CounterValue, float64(lost[name]), name)
	}
}
