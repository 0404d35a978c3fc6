package serve

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"accountd/eventstore"
	"accountd/eventstore/transparency"
	"accountd/http/api"
	"accountd/projections/evidence"
)

// Checkpoint defaults: a checkpoint at least every DefaultCheckpointEvery events or
// DefaultCheckpointInterval, whichever comes first (when the log grew at all).
const (
	DefaultCheckpointEvery    = 1000
	DefaultCheckpointInterval = time.Minute
	DefaultCheckpointOrigin   = "accountd"
)

// SigningKeyPath is where the checkpoint signing key is kept when Config.SigningKey is
// empty: DATA/keys/checkpoint-signing.key, mode 0600, created on first start.
func SigningKeyPath(dataDir string) string {
	return filepath.Join(dataDir, "keys", transparency.SigningKeyFile)
}

// CheckpointDir is where the signed checkpoints are kept.
func CheckpointDir(dataDir string) string { return filepath.Join(dataDir, "checkpoints") }

// logWitness is the server's transparency log: the monitor auditing every new event
// against the stored tree, and the checkpointer signing what the monitor verified.
type logWitness struct {
	tree     transparency.Tree
	key      transparency.SigningKey // the checkpoints' key, which signs evidence manifests too
	monitor  *transparency.Monitor
	signer   *transparency.Checkpointer
	every    int64
	interval time.Duration
	log      interface {
		Error(string, ...any)
		Info(string, ...any)
	}
	verifiedGauge, okGauge prometheus.Gauge
}

// openWitness sets the transparency log up over store, or returns nil when the store
// keeps no tree (PostgreSQL and KurrentDB today).
func (s *Server) openWitness(ctx context.Context, store eventstore.Store) (*logWitness, error) {
	tree, err := transparency.NewTree(store)
	if errors.Is(err, transparency.ErrNoHashTree) {
		s.log.Warn("this event store keeps no transparency tree: no checkpoints, proofs or integrity monitor", "store", s.cfg.Store)
		return nil, nil
	}
	keyPath := s.cfg.SigningKey
	if keyPath == "" {
		keyPath = SigningKeyPath(s.cfg.DataDir)
	}
	origin := s.cfg.CheckpointOrigin
	if origin == "" {
		origin = DefaultCheckpointOrigin
	}
	key, err := transparency.LoadOrCreateSigningKey(keyPath, origin)
	if err != nil {
		return nil, fmt.Errorf("checkpoint signing key: %w", err)
	}
	signer, err := transparency.NewCheckpointer(store, transparency.CheckpointLog{Dir: CheckpointDir(s.cfg.DataDir)}, key)
	if err != nil {
		return nil, err
	}
	kept, err := signer.Kept()
	if err != nil {
		return nil, err
	}
	checkpoints := make([]transparency.Checkpoint, len(kept))
	for i, k := range kept {
		checkpoints[i] = k.Checkpoint
	}
	monitor, err := transparency.NewMonitor(ctx, store, checkpoints)
	if err != nil {
		return nil, err
	}
	signer.LimitTo(monitor.Verified, monitor.Check)
	w := &logWitness{tree: tree, key: key, monitor: monitor, signer: signer, every: s.cfg.CheckpointEvery, interval: s.cfg.CheckpointInterval, log: s.log.With("component", "transparency")}
	if w.every <= 0 {
		w.every = DefaultCheckpointEvery
	}
	if w.interval <= 0 {
		w.interval = DefaultCheckpointInterval
	}
	if err := monitor.Broken(); err != nil {
		w.log.Error("event log integrity broken at start", "error", err)
	}
	if s.metrics != nil {
		w.verifiedGauge = prometheus.NewGauge(prometheus.GaugeOpts{Name: "accountd_log_verified_position",
			Help: "Last log position the server's audit verified against the transparency tree."})
		w.okGauge = prometheus.NewGauge(prometheus.GaugeOpts{Name: "accountd_log_integrity_ok",
			Help: "1 while the event log matches its transparency tree and signed checkpoints, 0 once a mismatch is found."})
		if err := errors.Join(s.metrics.Register(w.verifiedGauge), s.metrics.Register(w.okGauge)); err != nil {
			return nil, err
		}
		w.report(monitor.Verified(), monitor.Broken())
	}
	return w, nil
}

func (w *logWitness) api() *api.Transparency {
	if w == nil {
		return nil
	}
	return &api.Transparency{Tree: w.tree, Checkpoints: w.signer, Integrity: w.monitor.Broken}
}

// evidenceLog anchors evidence bundles in this log: their fresh checkpoint is signed by the
// checkpointer, so never beyond what the monitor verified.
func (w *logWitness) evidenceLog() *evidence.Log {
	if w == nil {
		return nil
	}
	return &evidence.Log{Checkpoints: w.signer, Tree: w.tree, Key: w.key}
}

func (w *logWitness) report(verified int64, broken error) {
	if w.verifiedGauge != nil {
		w.verifiedGauge.Set(float64(verified))
		ok := 1.0
		if broken != nil {
			ok = 0
		}
		w.okGauge.Set(ok)
	}
}

// Run follows the log: audit each change, sign every `every` verified events, and sign
// what has grown every `interval`.
func (w *logWitness) Run(ctx context.Context) error {
	ticker := time.NewTicker(w.interval)
	defer ticker.Stop()
	changes, stop := w.tree.Store.Changes()
	defer stop()
	reported := false
	for {
		err := w.monitor.Check(ctx)
		if errors.Is(err, eventstore.ErrTreeMismatch) {
			if !reported {
				var m *eventstore.TreeMismatchError
				errors.As(err, &m)
				w.log.Error("event log integrity broken: the log does not match its transparency tree", "position", m.Position, "reason", m.Reason)
				reported = true
			}
		} else if err != nil && ctx.Err() == nil {
			return err
		}
		w.report(w.monitor.Verified(), w.monitor.Broken())
		if err == nil {
			if latest, ok := w.signer.Latest(); !ok || w.monitor.Verified()-latest.Size >= w.every {
				w.sign(ctx)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changes:
		case <-ticker.C:
			if w.monitor.Broken() == nil {
				w.sign(ctx)
			}
		}
	}
}

func (w *logWitness) sign(ctx context.Context) {
	if _, err := w.signer.Sign(ctx); err != nil && ctx.Err() == nil {
		w.log.Error("sign checkpoint", "error", err)
	}
}

// Checkpoints is the server's checkpointer (nil when the store keeps no tree): the
// evidence export signs a checkpoint through it.
func (s *Server) Checkpoints() *transparency.Checkpointer {
	if s.witness == nil {
		return nil
	}
	return s.witness.signer
}
