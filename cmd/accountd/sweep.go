package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"accountd/http/serve"
)

// runSweep runs one inactivity sweep (PCI 8.2.6) on the log in --data and exits. It takes
// serve's flags so it judges with the same policy and keys; the server runs the same sweep
// hourly, and command IDs per account and day make running both harmless.
func runSweep(args, environ []string, stdout, stderr io.Writer) error {
	cfg, err := parseServe(args, environ, stderr)
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
	fmt.Fprintf(stdout, "inactivity sweep: %d account(s) examined, %d disabled (disabled_inactivity)\n", res.Examined, res.Disabled)
	return nil
}
