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

const whatIfUsage = `Usage: accountd what-if --from TIME --to TIME [--lockout-threshold N] [--lockout-duration D] [--property ID] [--account ID,...] [flags]

Replays the recorded sign-ins between --from and --to under a candidate policy (the policy
in force now, as the server recorded it in the log, with the settings given) and prints, per
account, where the lockouts would have differed, with totals and what the replay cannot
know. The log is the one serve uses: SQLite in --data, or --store postgres or kurrentdb at
--store-url. With the SQLite log the server must be stopped (events.db is opened
exclusively); a PostgreSQL or KurrentDB log can be read while servers run.

Examples:
  accountd what-if --data /var/lib/accountd --lockout-threshold 10 --from 2026-03-01T00:00:00Z --to 2026-04-01T00:00:00Z
  accountd what-if --store postgres --store-url postgres://accountd@db.example/accountd --lockout-duration 30m --from 2026-03-01T00:00:00Z --to 2026-04-01T00:00:00Z

Flags (environment equivalent in brackets):
`

func runWhatIf(args, environ []string, stdout, stderr io.Writer) error {
	fs := newToolFlags("what-if", whatIfUsage, stderr)
	var sf storeFlags
	sf.register(fs)
	threshold := fs.Int("lockout-threshold", 0, "candidate lockout threshold (0: the recorded policy's)")
	lockFor := fs.String("lockout-duration", "", "candidate timed unlock, e.g. 30m (0: until identity is confirmed; empty: the recorded policy's)")
	from := fs.String("from", "", "start of the replayed period (RFC 3339)")
	to := fs.String("to", "", "end of the replayed period (RFC 3339)")
	property := fs.String("property", "", "replay only this property's members")
	accounts := fs.String("account", "", "replay only these accounts (comma-separated IDs)")
	pos, err := parseInterleaved(fs, args, environ)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", pos[0])}
	}
	var duration *domain.Duration
	if *lockFor != "" {
		d, err := domain.ParseDuration(*lockFor)
		if err != nil {
			return usageError{fmt.Errorf("--lockout-duration: %w", err)}
		}
		duration = &d
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
	ctx := context.Background()
	store, policies, err := openLogWithPolicy(ctx, &sf)
	if err != nil {
		return err
	}
	defer store.Close()
	p := policies.Current()
	if *threshold != 0 {
		p.LockoutThreshold = *threshold
	}
	if duration != nil {
		p.LockoutDuration = *duration
	}
	if err := p.Validate(); err != nil {
		return usageError{err}
	}
	r := &history.Reader{Store: store, Policy: policies.At}
	rep, err := r.WhatIf(ctx, history.WhatIfRequest{Policy: p, AccountIDs: ids, PropertyID: *property, From: fromT.UTC(), To: toT.UTC()})
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
