package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"accountd/domain"
	"accountd/projections/history"
)

const whatIfUsage = `Usage: accountd what-if --data DIR --lockout-threshold N --from TIME --to TIME [--property ID] [--account ID,...]

Replays the recorded sign-ins between --from and --to under a candidate policy (the default
policy with the settings given) and prints, per account, where the lockouts would have
differed, with totals and what the replay cannot know. The server must be stopped (the log
is opened exclusively).

Example:
  accountd what-if --data /var/lib/accountd --lockout-threshold 10 --from 2026-03-01T00:00:00Z --to 2026-04-01T00:00:00Z

Flags:
`

func runWhatIf(args []string, stdout, stderr io.Writer) error {
	fs := offlineFlags("what-if", whatIfUsage, stderr)
	data := fs.String("data", "./data", "data directory")
	threshold := fs.Int("lockout-threshold", 0, "candidate lockout threshold (0: the default policy's)")
	lockFor := fs.Duration("lockout-duration", -1, "candidate timed unlock (0: until identity is confirmed; -1: the default policy's)")
	from := fs.String("from", "", "start of the replayed period (RFC 3339)")
	to := fs.String("to", "", "end of the replayed period (RFC 3339)")
	property := fs.String("property", "", "replay only this property's members")
	accounts := fs.String("account", "", "replay only these accounts (comma-separated IDs)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	p := domain.DefaultPolicy()
	if *threshold != 0 {
		p.LockoutThreshold = *threshold
	}
	if *lockFor >= 0 {
		p.LockoutDuration = domain.Duration(*lockFor)
	}
	if err := p.Validate(); err != nil {
		return usageError{err}
	}
	fromT, err1 := time.Parse(time.RFC3339Nano, *from)
	toT, err2 := time.Parse(time.RFC3339Nano, *to)
	if err1 != nil || err2 != nil || !fromT.Before(toT) {
		return usageError{fmt.Errorf("--from and --to are required RFC 3339 times, --from before --to")}
	}
	var ids []string
	if *accounts != "" {
		ids = strings.Split(*accounts, ",")
	}
	store, err := openLogForReading(*data)
	if err != nil {
		return err
	}
	defer store.Close()
	r := &history.Reader{Store: store, Policy: domain.DefaultPolicy}
	rep, err := r.WhatIf(context.Background(), history.WhatIfRequest{Policy: p, AccountIDs: ids, PropertyID: *property, From: fromT.UTC(), To: toT.UTC()})
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tOUTCOME\tRECORDED LOCKS\tSIMULATED LOCKS\tATTEMPTS\tDIFFERENT DECISIONS\tUNREPLAYABLE")
	for _, a := range rep.Accounts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\n", a.AccountID, a.Outcome, times(a.RecordedLocks), times(a.SimulatedLocks), a.Attempts, a.DifferentDecisions, a.Unreplayable)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nTotals: %d accounts replayed, %d recorded locks, %d simulated locks, %d attempts, %d different decisions, %d unreplayable\n",
		rep.Totals["accounts"], rep.Totals["recorded_locks"], rep.Totals["simulated_locks"], rep.Totals["attempts"], rep.Totals["different_decisions"], rep.Totals["unreplayable_attempts"])
	for _, o := range []string{history.OutcomeLockedEarlier, history.OutcomeLockedLater, history.OutcomeNeverLocked, history.OutcomeNewlyLocked, history.OutcomeMoreLocks, history.OutcomeFewerLocks} {
		if n := rep.Totals[o]; n > 0 {
			fmt.Fprintf(stdout, "  %s: %d\n", o, n)
		}
	}
	fmt.Fprintln(stdout, "\nWhat the replay cannot know:")
	for _, l := range rep.Limitations {
		fmt.Fprintln(stdout, "  - "+l)
	}
	return nil
}

func times(ts []time.Time) string {
	if len(ts) == 0 {
		return "-"
	}
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Format(time.RFC3339)
	}
	return strings.Join(out, " ")
}
