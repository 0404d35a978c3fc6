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

	"accountd/commands"
	"accountd/domain"
	"accountd/eventstore"
	"accountd/eventstore/eventlog"
	"accountd/projections"
	"accountd/projections/compliance"
)

// report is one report file of a bundle and how it is written from the compliance tables.
type report struct {
	name  string
	write func(ctx context.Context, w io.Writer, db *sql.DB, p *commands.PolicyHistory, q compliance.Query, generatedAt time.Time) error
}

// reports are the bundle's reports, in bundle order.
var reports = []report{
	{FileRotationCSV, func(ctx context.Context, w io.Writer, db *sql.DB, p *commands.PolicyHistory, q compliance.Query, _ time.Time) error {
		return compliance.WriteRotationCSV(ctx, w, db, p, q)
	}},
	{FileRotationJS, compliance.WriteRotationJSON},
	{FileAccessCSV, func(ctx context.Context, w io.Writer, db *sql.DB, _ *commands.PolicyHistory, q compliance.Query, _ time.Time) error {
		return compliance.WriteAccessCSV(ctx, w, db, q)
	}},
	{FilePolicies, func(_ context.Context, w io.Writer, _ *sql.DB, p *commands.PolicyHistory, q compliance.Query, _ time.Time) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"from": q.From, "to": q.To, "policies_in_force": p.InForce(q.From, q.To)})
	}},
}

// derive folds the events into fresh compliance tables with the projection's own code and
// writes every report from them. The export makes its reports this way and the verifier
// checks them this way: one computation, so a row either follows from the events or the
// bundle fails. scratch is a directory for the temporary read model.
func derive(ctx context.Context, events []eventstore.RecordedEvent, q compliance.Query, generatedAt time.Time, scratch string) (map[string][]byte, error) {
	dir, err := os.MkdirTemp(scratch, "accountd-evidence-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	db, err := projections.OpenDB(filepath.Join(dir, "fold.db"))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var policy []eventstore.RecordedEvent
	var decoded []eventlog.Decoded
	for _, rec := range events {
		switch {
		case rec.Stream == domain.PolicyStream:
			policy = append(policy, rec)
		case strings.HasPrefix(rec.Stream, "account-"):
			d, err := eventlog.Decode(rec)
			if err != nil {
				return nil, fmt.Errorf("event at position %d: %w", rec.Position, err)
			}
			decoded = append(decoded, d)
		}
	}
	if err := compliance.Fold(ctx, db, decoded); err != nil {
		return nil, err
	}
	policies, err := commands.PolicyHistoryOf(policy)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, r := range reports {
		var buf bytes.Buffer
		if err := r.write(ctx, &buf, db, policies, q, generatedAt); err != nil {
			return nil, fmt.Errorf("%s: %w", r.name, err)
		}
		out[r.name] = buf.Bytes()
	}
	return out, nil
}
