package serve

import (
	"context"
	"time"

	"golang.org/x/mod/sumdb/note"

	"accountd/eventstore/eventlog"
	"accountd/eventstore/sqlite"
)

// HotWindow is how far back events stay in the live log when the server archives them
// itself (Config.HotWindow): calendar months and days before the server's clock.
type HotWindow struct {
	Months, Days int
}

// IsZero reports whether no window is set: the server then archives nothing itself.
func (h HotWindow) IsZero() bool { return h.Months == 0 && h.Days == 0 }

// Cutoff is the instant before which events are archived.
func (h HotWindow) Cutoff(now time.Time) time.Time { return now.AddDate(0, -h.Months, -h.Days) }

// archiveBeyondHotWindow seals what has left the hot window into archive segments, on the
// elected hourly sweep, while the server serves (sqlite.Store.Seal writes and syncs a
// segment first, then drops its rows in one short transaction). It does not vacuum: the
// first vacuum rewrites the whole file and would stall appends, and the freed pages are
// reused by new events, so the live file stops growing at the hot window's size; the
// offline accountd archive returns the space to the file system.
func (s *Server) archiveBeyondHotWindow(ctx context.Context) (sqlite.SealReport, error) {
	if s.cfg.HotWindow.IsZero() || s.archivable == nil || s.witness == nil {
		return sqlite.SealReport{}, nil
	}
	return s.archivable.Seal(ctx, sqlite.SealOptions{
		Before:  s.cfg.HotWindow.Cutoff(s.cfg.Clock()),
		Age:     eventlog.OccurredAt,
		Signers: []note.Signer{s.witness.key.Signer},
	})
}
