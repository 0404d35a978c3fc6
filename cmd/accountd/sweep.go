package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"accountd/http/serve"
	"accountd/projections/compliance"
)

// runSweep runs one inactivity sweep (PCI 8.2.6) on the log in --data and exits. It takes
// serve's flags so it judges with the same policy and keys; the server runs the same sweep
// hourly, and command IDs per account and day make running both harmless.
const sweepUsage = `Usage: accountd sweep [flags]

Runs one inactivity sweep (PCI 8.2.6) on the log in --data and exits: every account with no
successful sign-in for the policy's inactivity_disable_after (default 90d) is disabled with
disabled_inactivity. It reports how many accounts the rule watches, the cutoff, and when the
next one becomes due. A running server sweeps every hour by itself; with the SQLite log, stop
it first. It takes serve's flags, so it judges with the same policy and keys.

Examples:
  accountd sweep --data ./data
  ACCOUNTD_POLICY_INACTIVITY_DISABLE_AFTER=30d accountd sweep

Flags (environment equivalent in brackets):
`

func runSweep(args, environ []string, stdout, stderr io.Writer) error {
	cfg, err := parseServerFlags("sweep", sweepUsage, args, environ, stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := serve.New(ctx, cfg)
	if errors.Is(err, serve.ErrDataDirInUse) {
		return fmt.Errorf("%w: the server running on %s sweeps every hour by itself; to sweep now, stop it, or point --data at another directory (with a shared PostgreSQL or KurrentDB log)", err, cfg.DataDir)
	}
	if err != nil {
		return err
	}
	defer srv.Close()
	res, err := srv.SweepInactive(ctx)
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, sweepReport(res))
	return nil
}

// sweepReport says what the sweep looked at and, when it disabled nobody, why.
func sweepReport(res compliance.SweepResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "inactivity sweep: %d account(s) watched (not deleted, not already disabled for inactivity); due: last sign-in before %s\n",
		res.Watched, res.Cutoff.Format(time.RFC3339))
	fmt.Fprintf(&b, "  %d due and examined, %d disabled (disabled_inactivity)\n", res.Examined, res.Disabled)
	switch {
	case res.Watched == 0:
		b.WriteString("  nothing was due: no account to watch yet\n")
	case res.Examined == 0:
		fmt.Fprintf(&b, "  nothing was due: every watched account was active since the cutoff; the next becomes due at %s\n", res.NextDueAt.Format(time.RFC3339))
	case res.Disabled < res.Examined:
		fmt.Fprintf(&b, "  %d due account(s) were left as they are (signed in since the read model last caught up, or already disabled today)\n", res.Examined-res.Disabled)
	}
	return b.String()
}
