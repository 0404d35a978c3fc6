package evidence

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"accountd/domain"
	"accountd/eventstore"
	"accountd/eventstore/eventlog"
	"accountd/projections"
	"accountd/projections/compliance"
)

// report is one report file of a bundle and how it is written from the compliance tables.
type report struct {
	name  string
	write func(ctx context.Context, w io.Writer, db *sql.DB, p *eventlog.PolicyHistory, q compliance.Query, generatedAt time.Time) error
}

// reports are the bundle's reports, in bundle order.
var reports = []report{
	{FileRotationCSV, func(ctx context.Context, w io.Writer, db *sql.DB, p *eventlog.PolicyHistory, q compliance.Query, _ time.Time) error {
		return compliance.WriteRotationCSV(ctx, w, db, p, q)
	}},
	{FileRotationJS, compliance.WriteRotationJSON},
	{FileAccessCSV, func(ctx context.Context, w io.Writer, db *sql.DB, _ *eventlog.PolicyHistory, q compliance.Query, _ time.Time) error {
		return compliance.WriteAccessCSV(ctx, w, db, q)
	}},
	{FilePolicies, func(_ context.Context, w io.Writer, _ *sql.DB, p *eventlog.PolicyHistory, q compliance.Query, _ time.Time) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"from": q.From, "to": q.To, "policies_in_force": p.InForce(q.From, q.To)})
	}},
}

// foldBatch bounds the events held in memory before they are folded.
const foldBatch = 4096

// deriver folds a bundle's events, as they come, into scratch compliance tables with the
// projection's own code, and then writes every report from them. The export makes its
// reports this way and the verifier checks them this way: one computation, so a row
// either follows from the events or the bundle fails. Memory holds one batch of events.
type deriver struct {
	dir    string
	db     *sql.DB
	batch  []eventlog.Decoded
	policy []eventstore.RecordedEvent
}

// newDeriver makes the scratch read model in a temporary directory under scratch ("" for
// the system's).
func newDeriver(scratch string) (*deriver, error) {
	dir, err := os.MkdirTemp(scratch, "accountd-evidence-")
	if err != nil {
		return nil, err
	}
	db, err := projections.OpenDB(filepath.Join(dir, "fold.db"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &deriver{dir: dir, db: db}, nil
}

func (d *deriver) close() {
	d.db.Close()
	os.RemoveAll(d.dir)
}

// add takes the next event of the bundle. Streams come one after the other, each in
// revision order; the projection keeps no state across streams that depends on their
// interleaving, so folding them stream by stream gives the rows the log order gives.
func (d *deriver) add(ctx context.Context, rec eventstore.RecordedEvent) error {
	switch {
	case rec.Stream == domain.PolicyStream:
		d.policy = append(d.policy, rec)
	case strings.HasPrefix(rec.Stream, "account-"):
		e, err := eventlog.Decode(rec)
		if err != nil {
			return fmt.Errorf("event at position %d: %w", rec.Position, err)
		}
		d.batch = append(d.batch, e)
		if len(d.batch) >= foldBatch {
			return d.flush(ctx)
		}
	}
	return nil
}

func (d *deriver) flush(ctx context.Context) error {
	if err := compliance.Fold(ctx, d.db, d.batch); err != nil {
		return err
	}
	d.batch = d.batch[:0]
	return nil
}

// reports writes every report from the events added.
func (d *deriver) reports(ctx context.Context, q compliance.Query, generatedAt time.Time) (map[string][]byte, error) {
	if err := d.flush(ctx); err != nil {
		return nil, err
	}
	policies, err := eventlog.PolicyHistoryOf(d.policy)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, r := range reports {
		var buf bytes.Buffer
		if err := r.write(ctx, &buf, d.db, policies, q, generatedAt); err != nil {
			return nil, fmt.Errorf("%s: %w", r.name, err)
		}
		out[r.name] = buf.Bytes()
	}
	return out, nil
}
