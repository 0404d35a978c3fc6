package compliance

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"accountd/commands"
	"accountd/domain"
)

// SweepResult counts what one inactivity sweep did.
type SweepResult struct {
	Examined int `json:"examined"`
	Disabled int `json:"disabled"`
	// Watched is how many accounts the rule applies to (not deleted, not already disabled
	// for inactivity); Cutoff is the last activity that makes one due (now minus the
	// policy's inactivity_disable_after); NextDueAt is when the least recently active of
	// them becomes due, zero when none is watched. Together they say why nothing was due.
	Watched   int       `json:"watched"`
	Cutoff    time.Time `json:"cutoff"`
	NextDueAt time.Time `json:"next_due_at,omitzero"`
}

// SweepInactive disables, with disabled_inactivity, every account with no successful login
// for the policy's InactivityDisableAfter (PCI 8.2.6). The command ID is derived from the
// account and the day, so two sweeps on one day (a retry, the server and the CLI) write at
// most once; and the domain re-checks each account, so a login since the projection last
// caught up is never overridden.
func SweepInactive(ctx context.Context, db *sql.DB, svc *commands.Service) (SweepResult, error) {
	now := svc.Now()
	cutoff := now.Add(-svc.Policy().InactivityDisableAfter.Std())
	day := now.Format("2006-01-02")
	res := SweepResult{Cutoff: cutoff}
	var oldest sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*), MIN(last_active_at) FROM compliance_accounts
		WHERE deleted_at = 0 AND ',' || disabled_kinds || ',' NOT LIKE '%,inactivity,%'`).Scan(&res.Watched, &oldest); err != nil {
		return res, err
	}
	if oldest.Valid {
		res.NextDueAt = time.Unix(0, oldest.Int64).UTC().Add(svc.Policy().InactivityDisableAfter.Std())
	}
	err := InactiveCandidates(ctx, db, cutoff, func(id string) error {
		res.Examined++
		r, err := svc.Account(ctx, commands.Meta{CommandID: "inactivity-sweep/" + id + "/" + day}, id, domain.DisableIfInactive{})
		if err != nil {
			return fmt.Errorf("compliance: sweep %s: %w", id, err)
		}
		if !r.Replayed && len(r.Events) > 0 {
			res.Disabled++
		}
		return nil
	})
	return res, err
}
