package main

import (
	"accountd/domain"
	"accountd/eventstore"
	"accountd/eventstore/eventlog"
	"accountd/projections/history"
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

const historyUsage = `Usage: accountd history --account ID [--at TIME] [flags]

Prints an account's timeline from the event log: each event with its time, actor, origin
and the account's status right after it. With --at, prints the account's state and status
as they were at that instant instead. Secrets never appear. Status is evaluated under the
policy in force at each instant, as the server recorded it in the log (the default policy
before the first record). The log is the one serve uses: SQLite in --data, or --store postgres or kurrentdb
at --store-url. With the SQLite log the server must be stopped (events.db is opened
exclusively); a PostgreSQL or KurrentDB log can be read while servers run.

Examples:
  accountd history --data /var/lib/accountd --account 7c0e...
  accountd history --data /var/lib/accountd --account 7c0e... --at 2026-03-02T09:00:00Z
  ACCOUNTD_STORE=postgres ACCOUNTD_STORE_URL=postgres://accountd@db.example/accountd accountd history --account 7c0e...

Flags (environment equivalent in brackets):
`

func runHistory(args, environ []string, stdout, stderr io.Writer) error {
	fs := newToolFlags("history", historyUsage, stderr)
	var sf storeFlags
	sf.register(fs)
	account := fs.String("account", "", "account `ID`")
	at := fs.String("at", "", "RFC 3339 instant: print the state then instead of the timeline")
	pos, err := parseInterleaved(fs, args, environ)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", pos[0])}
	}
	if *account == "" {
		return usageError{fmt.Errorf("--account is required")}
	}
	var when time.Time
	if *at != "" {
		t, err := time.Parse(time.RFC3339Nano, *at)
		if err != nil {
			return usageError{fmt.Errorf("--at %q: want an RFC 3339 time", *at)}
		}
		when = t.UTC()
	}
	ctx := context.Background()
	store, policies, err := openLogWithPolicy(ctx, &sf)
	if err != nil {
		return err
	}
	defer store.Close()
	r := &history.Reader{Store: store, Policy: policies.At}
	if !when.IsZero() {
		st, err := r.StateAt(ctx, *account, when)
		if err != nil {
			return err
		}
		return printState(stdout, st)
	}
	page, err := r.Events(ctx, *account, -1, 1<<30)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "REV\tTIME\tEVENT\tACTOR\tORIGIN\tDETAIL\tSTATUS AFTER")
	for _, e := range page.Entries {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Revision, e.At.Format(time.RFC3339), strings.TrimSuffix(e.Type, ".v1"),
			actorText(e.Actor), originText(e.Origin), detailText(e.Data), statusText(e.Status, e.Reasons))
	}
	return tw.Flush()
}

// openLogWithPolicy opens the event log the flags select and reads the policy history the
// server recorded in it, as serve does at start: the reading tools evaluate under the
// policy the server runs with, not the default.
func openLogWithPolicy(ctx context.Context, sf *storeFlags) (eventstore.Store, *eventlog.PolicyHistory, error) {
	store, err := sf.openLog()
	if err != nil {
		return nil, nil, err
	}
	policies, err := eventlog.LoadPolicyHistory(ctx, store)
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return store, policies, nil
}

func printState(w io.Writer, st history.State) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k string, v any) { fmt.Fprintf(tw, "%s\t%v\n", k, v) }
	row("account", st.AccountID)
	row("at", st.At.Format(time.RFC3339))
	row("email", st.Email)
	row("status", statusText(st.Status.Status, st.Status.Reasons))
	row("activated", st.Activated)
	row("properties", strings.Join(st.Properties, ", "))
	row("failed attempts", st.FailedAttempts)
	row("locked", st.Locked)
	row("password changed", st.PasswordChangedAt.Format(time.RFC3339))
	row("password expires", st.PasswordExpiresAt.Format(time.RFC3339))
	row("mfa enrolled", st.MFA.Enrolled)
	for kind, rec := range st.Disabled {
		row("disabled ("+string(kind)+")", rec.Since.Format(time.RFC3339))
	}
	row("open sessions", st.OpenSessions)
	return tw.Flush()
}

func actorText(a *domain.Actor) string {
	if a == nil {
		return "-"
	}
	if a.AccountID != "" {
		return string(a.Kind) + ":" + a.AccountID
	}
	return string(a.Kind)
}

func originText(o *domain.Origin) string {
	if o == nil {
		return "-"
	}
	parts := []string{o.IP}
	if o.DeviceID != "" {
		parts = append(parts, "device="+o.DeviceID)
	}
	return strings.Join(parts, " ")
}

func detailText(m map[string]any) string {
	var parts []string
	for _, k := range []string{"reason", "reasons", "cause", "kind", "rule", "action", "failed_attempts", "property_id"} {
		if v, ok := m[k]; ok && fmt.Sprint(v) != "" {
			parts = append(parts, fmt.Sprintf("%s=%v", k, v))
		}
	}
	return strings.Join(parts, " ")
}

func statusText(status string, reasons []domain.Reason) string {
	if len(reasons) == 0 {
		return status
	}
	codes := make([]string, len(reasons))
	for i, r := range reasons {
		codes[i] = r.Code
	}
	return status + " (" + strings.Join(codes, ", ") + ")"
}
