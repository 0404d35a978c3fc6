package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"accountd/domain"
	"accountd/domain/credentials"
	"accountd/eventstore/sqlite"
	"accountd/http/serve"
)

const demoUsage = `Usage: accountd demo --data DIR [--properties 50] [--accounts 5000] [--months 12] [--seed N]

Writes a realistic history into an empty data directory through the real command side (the
same service, keys and policy as serve), with a clock walking through the months up to now:
properties and their staff registered and activated; sign-ins on weekdays in two shifts
(7:00-15:00, 15:00-23:00), each person on one weekday in four on average; typos (a wrong password, then the right one); a few lockouts
released by the e-mailed unlock link; forgotten passwords reset by link; password rotations
every 75-90 days, with one account in ten letting its password pass 90 days so the login
forces the change; MFA enrolment at first sign-in (some defer it to the end of the grace
period); at two properties two overdue invoices, then payment; and in the last hours a shared
account (two devices within 10 minutes) and a credential-stuffing burst from one address
against known and unknown e-mails, ending at the moment the demo finishes. The detectors act
on those two when the server starts: they follow the log and act on events younger than 24
hours (the shared account is disabled); the stuffing address is throttled for 15 minutes from
the burst, so start the server within about ten minutes to see that throttle in force.

The same seed gives the same people, passwords, times and events; salts, TOTP secrets and
link tokens are random, as they must be.

Password hashing: the demo hashes with reduced argon2id parameters (m=64 KiB, t=1) so that
thousands of accounts and rotations take seconds, not hours. Each hash carries its parameters
in its PHC string and the verifier reads them from there, so the server (at its own, full
parameters) accepts these passwords; a password changed on the server is hashed at full cost.

At the end the outbox delivers the history's mails (activation, unlock and reset links,
billing and security notices) as .eml files under DIR/outbox, so the server does not send
them again at its first start. The server must be stopped while the demo runs.

Example:
  accountd demo --data ./demo --properties 5 --accounts 200 --months 3
  accountd serve --data ./demo

Flags (environment equivalent in brackets):
`

// demoArgon2 is cheap on purpose: see demoUsage.
var demoArgon2 = credentials.Argon2Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

type demoConfig struct {
	store                storeFlags
	properties, accounts int
	months               int
	seed                 uint64
	logEvery             time.Duration
	end                  time.Time // the demo's "now" (default: the real now)
	skipMail             bool
}

func runDemo(args, environ []string, stdout, stderr io.Writer) error {
	fs := newToolFlags("demo", demoUsage, stderr)
	var c demoConfig
	c.store.register(fs)
	// The demo writes hundreds of thousands of commands one after another; fsync on every
	// commit would make that hours. A crash loses the tail of an empty directory's demo.
	fs.Lookup("sync").DefValue = "normal"
	c.store.sync = "normal"
	fs.IntVar(&c.properties, "properties", 50, "number of properties (hotels)")
	fs.IntVar(&c.accounts, "accounts", 5000, "number of staff accounts")
	fs.IntVar(&c.months, "months", 12, "months of history, ending now (at least 105 days are written, so an expiry shows)")
	fs.Uint64Var(&c.seed, "seed", 1, "random seed: the same seed gives the same history")
	fs.DurationVar(&c.logEvery, "log-every", 5*time.Second, "interval of the progress lines when stderr is not a terminal")
	pos, err := parseInterleaved(fs, args, environ)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", pos[0])}
	}
	if c.properties < 1 || c.accounts < c.properties || c.months < 1 {
		return usageError{errors.New("want --properties >= 1, --accounts >= --properties, --months >= 1")}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return demo(ctx, c, stdout, stderr)
}

func demo(ctx context.Context, c demoConfig, stdout, stderr io.Writer) error {
	realTime := c.end.IsZero()
	if realTime {
		c.end = time.Now().UTC().Add(-10 * time.Minute)
	}
	start := c.end.AddDate(0, -c.months, 0).Truncate(24 * time.Hour)
	if earliest := c.end.AddDate(0, 0, -demoMinDays).Truncate(24 * time.Hour); earliest.Before(start) {
		start = earliest // a shorter history could show no password expiry
	}
	cfg := serve.Config{DataDir: c.store.data, Store: c.store.store, StoreURL: c.store.storeURL, Argon2: &demoArgon2,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	switch c.store.sync {
	case "full":
		cfg.Sync = sqlite.Full
	case "normal":
		cfg.Sync = sqlite.Normal
	default:
		return usageError{fmt.Errorf("--sync %q: want full or normal", c.store.sync)}
	}
	rng := rand.New(rand.NewPCG(c.seed, 0x5eed))
	d := &demoRun{ctx: ctx, rng: rng, seed: c.seed, now: start, end: c.end.Add(-4 * time.Hour), stats: map[string]int{}}
	d.props, d.accounts = demoCast(rng, c.properties, c.accounts)
	d.billingDay = int(d.end.Sub(start).Hours()/24) / 2
	cfg.Clock = d.clock
	// serve.New gives the demo exactly what the server will use: the keys in DIR/keys (made
	// on first use, their fingerprints recorded in the log), the API tokens, and the policy
	// recorded in the log at the demo's start.
	srv, err := serve.New(ctx, cfg)
	if err != nil {
		return err
	}
	startup := uint64(1 + len(domain.KeyPurposes)) // the policy and one fingerprint per shared key
	if head, err := srv.Store().HeadPosition(ctx); err != nil || head > startup {
		srv.Close()
		if err == nil {
			err = fmt.Errorf("the event log in %s already holds %d events: the demo writes into an empty data directory", c.store.data, head)
		}
		return err
	}
	d.svc = srv.Service()
	began := time.Now()
	bar := newProgress(stderr, "demo", "days", c.logEvery)
	var done, total uint64
	err = d.days(start, func(n, of int) {
		done, total = uint64(n), uint64(of)
		bar.update(done, total)
	})
	if err == nil {
		if d.now.Before(d.end) {
			d.now = d.end
		}
		if realTime {
			// The routine part took minutes of real time: the finale ends at the real now, so
			// the detectors see it as fresh when the server starts (a stuffing throttle lasts
			// 15 minutes from the burst).
			c.end = time.Now().UTC()
		}
		d.end = c.end
		err = d.finale()
	}
	bar.finish(done, total)
	head, _ := srv.Store().HeadPosition(ctx)
	if cerr := srv.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	mails := 0
	if !c.skipMail {
		if mails, err = demoMail(ctx, cfg); err != nil {
			return err
		}
	}
	return demoSummary(stdout, c, d, head, time.Since(began), mails)
}

// demoMail runs the outbox once over the whole history, at the real clock.
func demoMail(ctx context.Context, cfg serve.Config) (int, error) {
	cfg.Clock = time.Now
	// The demo's year of mail is its show: no horizon (a real node skips mail older than
	// --mail-max-age).
	cfg.Mail.MaxAge = -1
	srv, err := serve.New(ctx, cfg)
	if err != nil {
		return 0, err
	}
	defer srv.Close()
	if err := srv.Outbox().CatchUp(ctx); err != nil {
		return 0, err
	}
	files, _ := filepath.Glob(filepath.Join(cfg.DataDir, "outbox", "*"))
	return len(files), nil
}

func demoSummary(w io.Writer, c demoConfig, d *demoRun, head uint64, took time.Duration, mails int) error {
	fmt.Fprintf(w, "demo history written to %s: %d events in %s (%d properties, %d accounts, %d months, seed %d)\n\n",
		c.store.data, head, took.Round(time.Second), c.properties, c.accounts, c.months, c.seed)
	keys := make([]string, 0, len(d.stats))
	for k := range d.stats {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  %7d  %s\n", d.stats[k], k)
	}
	fmt.Fprintf(w, "\nExample accounts (demo passwords; MFA secrets are base32 TOTP, 6 digits, 30 s):\n")
	shown := 0
	for _, a := range d.accounts {
		if a.id == "" || a.neverActive || shown == 3 {
			continue
		}
		mfa := "not enrolled"
		if a.secret != "" {
			mfa = "TOTP secret " + a.secret
		}
		fmt.Fprintf(w, "  %-48s %-28s %s\n", a.email, a.password, mfa)
		shown++
	}
	if mails > 0 {
		fmt.Fprintf(w, "\nMails: %d .eml files in %s (the outbox has delivered them; the server will not resend)\n", mails, filepath.Join(c.store.data, "outbox"))
	} else {
		fmt.Fprintf(w, "\nMails: not delivered yet; the server's outbox sends them at start\n")
	}
	fmt.Fprintf(w, "Next: accountd serve --data %s  (read models catch up at start; the detectors act on the last hours)\n", c.store.data)
	return nil
}
