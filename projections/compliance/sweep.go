package compliance

import (
	"context"
	"database/sql"
	"fmt"

	"accountd/commands"
	"accountd/domain"
)

// SweepResult counts what one inactivity sweep did.
type SweepResult struct {
	Examined int `json:"examined"`
	Disabled int `json:"disabled"`
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
	var res SweepResult
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
