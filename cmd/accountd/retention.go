package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"accountd/domain"
	"accountd/eventstore/personal"
	"accountd/http/serve"
)

const retentionUsage = `Usage: accountd retention [flags]

Destroys, once, the keys of the months older than --personal-retention (default 13 months,
never less than 12): the IP addresses, user agents and devices of the events of those
months read as [erased] from then on, in the log and in every backup or archive of it,
while their e-mail addresses, the events themselves, the hash chain and every transparency
proof stay as they were (nothing in the log is rewritten). A running server does the same
in its hourly sweep; this command is for a log no server runs on, or to drop the months
now. --before YYYY-MM names the first month to keep instead, no later than the retention
floor of 12 months allows. Destroyed keys are never made again.

Examples:
  accountd retention --data /var/lib/accountd
  accountd retention --personal-retention 24
  accountd retention --before 2025-01

Flags (environment equivalent in brackets):
`

func runRetention(args, environ []string, stdout, stderr io.Writer) error {
	fs := newToolFlags("retention", retentionUsage, stderr)
	var sf storeFlags
	sf.register(fs)
	months := fs.Int("personal-retention", personal.DefaultRetentionMonths, "`months` IP addresses, user agents and devices of events stay readable (at least 12: PCI DSS 10.5.1)")
	before := fs.String("before", "", "first `month` (YYYY-MM, UTC) to keep, instead of the one --personal-retention gives; no later than 12 months back")
	pos, err := parseInterleaved(fs, args, environ)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", pos[0])}
	}
	if err := personal.CheckRetention(*months); err != nil {
		return usageError{fmt.Errorf("--personal-retention: %w", err)}
	}
	now := time.Now()
	floor := personal.RetentionFloor(now, *months)
	if *before != "" {
		if err := personal.CheckMonth(*before); err != nil {
			return usageError{fmt.Errorf("--before: %w", err)}
		}
		if latest := personal.RetentionFloor(now, personal.MinRetentionMonths); *before > latest {
			return usageError{fmt.Errorf("--before: %w", &domain.Error{Code: personal.CodeRetentionTooShort,
				Message: fmt.Sprintf("%s keeps less than %d months (the latest allowed now is %s)", *before, personal.MinRetentionMonths, latest)})}
		}
		floor = *before
	}
	cfg, err := sf.config()
	if err != nil {
		return err
	}
	keys, err := serve.OpenPersonalKeys(context.Background(), cfg)
	if err != nil {
		return err
	}
	defer keys.Close()
	n, err := keys.DestroyPeriodsBefore(context.Background(), floor)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "personal data retention: destroyed the keys of %d month(s) before %s; their IP addresses, user agents and devices read as [erased]\n", n, floor)
	return nil
}
