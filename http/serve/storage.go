package serve

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"accountd/eventstore"
	"accountd/http/api"
	"accountd/projections"
)

// watchStorage wraps the event log so that every append tells the server whether the
// storage takes writes (eventstore.WatchStorage): /readyz answers 503 storage_unavailable
// from the first append the storage failed until one succeeds again, and each transition
// is one log line.
func (s *Server) watchStorage(store eventstore.Store) eventstore.Store {
	watched, health := eventstore.WatchStorage(store, func(available bool, err error) {
		if available {
			s.log.Info("event log storage available again: writes and /readyz are back", "component", "storage")
			return
		}
		s.log.Error("event log storage unavailable: writes answer 503 storage_unavailable and /readyz 503 until a write succeeds",
			"component", "storage", "reason", storageReason(err), "error", err.Error())
	})
	s.storage = health
	return watched
}

func storageReason(err error) string {
	var se *eventstore.StorageError
	if errors.As(err, &se) {
		return se.Reason
	}
	return eventstore.StorageIOError
}

// registerStorageMetrics exposes the storage's health: accountd_storage_available (1 or 0)
// and accountd_storage_failures_total by reason.
func (s *Server) registerStorageMetrics() error {
	if s.metrics == nil {
		return nil
	}
	if err := s.metrics.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "accountd_storage_available",
		Help: "1 while the event log takes writes, 0 from a write the storage failed (disk full, I/O error, read-only, database unreachable) until one succeeds again.",
	}, func() float64 {
		if s.storage.Available() {
			return 1
		}
		return 0
	})); err != nil {
		return err
	}
	for _, reason := range eventstore.StorageReasons {
		if err := s.metrics.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "accountd_storage_failures_total",
			Help:        "Appends to the event log that failed because of the storage, by reason.",
			ConstLabels: prometheus.Labels{"reason": reason},
		}, func() float64 { return float64(s.storage.Failures(reason)) })); err != nil {
			return err
		}
	}
	return nil
}

// storageProbe finds out that the storage is back while no write comes: once /readyz
// says 503 a load balancer sends none, so waiting for a client's write would wait for
// ever. While the storage is unavailable it probes it (eventstore.StorageProber: a small
// fsynced file next to events.db, a ping of PostgreSQL) every interval; a probe that
// succeeds makes the storage available again, and the next write tells for sure.
type storageProbe struct {
	s        *Server
	interval time.Duration
}

func (p storageProbe) Run(ctx context.Context) error {
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if !p.s.storage.Available() {
			_ = p.s.storage.Probe(ctx)
		}
	}
}

// openReadModel opens a read-model file the log can rebuild, moving a damaged one aside
// (projections.OpenRebuildableDB).
func (s *Server) openReadModel(name string) (*sql.DB, error) {
	return projections.OpenRebuildableDB(filepath.Join(s.cfg.DataDir, name), s.cfg.Clock(), s.log.With("component", "read-models"))
}

// warnLooseDataDir says once, at start, when the data directory or a file in it can be
// read by group or others: it holds e-mail and IP addresses, keys and tokens. accountd
// creates its directories 0700 and its files 0600, but does not change modes it did not
// set (the directory may be a mount point, or shared with a backup group on purpose):
// the operator decides, the warning says what to run.
func (s *Server) warnLooseDataDir() {
	dir := s.cfg.DataDir
	fi, err := os.Stat(dir)
	if err != nil {
		return
	}
	var loose []string
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return nil
		}
		if info, err := d.Info(); err == nil && info.Mode().Perm()&0o077 != 0 {
			if rel, err := filepath.Rel(dir, path); err == nil {
				loose = append(loose, rel)
			}
		}
		return nil
	})
	if fi.Mode().Perm()&0o077 == 0 && len(loose) == 0 {
		return
	}
	shown := loose
	if len(shown) > 5 {
		shown = shown[:5]
	}
	s.log.Warn("data directory readable by group or others: it holds e-mail and IP addresses, keys and tokens",
		"component", "server", "path", dir, "mode", fi.Mode().Perm().String(), "loose_files", len(loose), "examples", shown,
		"fix", "chmod 700 "+dir+" && chmod -R go-rwx "+dir)
}

var _ api.Storage = (*eventstore.StorageHealth)(nil)
