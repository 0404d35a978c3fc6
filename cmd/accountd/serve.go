package main

import (
	"accountd/eventstore/snapshot"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"accountd/domain"
	"accountd/domain/credentials"
	"accountd/eventstore/lease"
	"accountd/eventstore/personal"
	"accountd/eventstore/sqlite"
	"accountd/http/api"
	"accountd/http/serve"
)

const serveUsage = `Usage: accountd serve [flags]

Runs the HTTP API on the embedded SQLite event log in --data, creating everything it needs
on first start: the log, the read models, the MFA and link keys (DATA/keys, 0600) and, when
no client token is configured, one API token per role in DATA/tokens (0600).

API tokens: ACCOUNTD_TOKENS="token:role,token:role" and/or --tokens-file (one token:role per
line, # comments). Roles: login-service, security, auditor, admin; a token may hold several
(token:admin+security). Keys: --keys DIR (one directory for every node of a shared log),
or ACCOUNTD_MFA_KEY and ACCOUNTD_LINK_KEY (64 hex digits) instead of the files; a node whose
keys differ from the fingerprints the log recorded refuses to start. Policy: --policy-file
(JSON), then ACCOUNTD_POLICY_<SETTING> variables, then --policy setting=value flags; e.g.
ACCOUNTD_POLICY_LOCKOUT_THRESHOLD=7. Detection thresholds: the --detect-<setting> flags
below (e.g. --detect-stuffing-distinct-emails 20).

Examples:
  accountd serve
  accountd serve --data /var/lib/accountd --addr 0.0.0.0:8080 --public-url https://login.example.com
  ACCOUNTD_POLICY_LOCKOUT_THRESHOLD=7 accountd serve --policy disclosure=generic
  accountd serve --smtp-addr smtp.example.com:587 --smtp-username accountd --mail-from no-reply@example.com
  accountd serve --sync normal --log-format json --log-level debug
  accountd serve --store postgres --store-url 'postgres://accountd@db.example/accountd'
  accountd serve --stream 'siem=nats://127.0.0.1:4222?subject=accountd.events' \
                 --stream-filter siem=category:authentication,account_change
  ACCOUNTD_STREAM_SECRET='hooks=...' accountd serve --stream hooks=https://helpdesk.example/accountd

Flags (environment equivalent in brackets):
`

// serveFlags are the serve command's settings as given.
type serveFlags struct {
	data, addr, publicURL        string
	policyFile                   string
	policies                     listFlag
	sync                         string
	cpuScheduling                string
	store, storeURL, archive     string
	hotWindow                    hotWindow
	tokensFile                   string
	keys                         string
	argonMemory, argonIterations uint
	argonParallelism             uint
	smtpAddr, smtpUser, smtpPass string
	smtpStartTLS                 bool
	mailFrom                     string
	mailMaxAge                   time.Duration
	logFormat, logLevel          string
	maxBody                      int64
	shutdownTimeout              time.Duration
	metrics                      bool
	console, publicPages         bool
	outbox, sweep                bool
	nodeID                       string
	leaseTTL, leaseRenew         time.Duration
	snapshotEvery                int
	personalKeys                 string
	personalRetention            int
	detect                       domain.DetectorPolicy
	streams                      streamFlags
	checkpoints                  checkpointFlags
}

func newServeFlags(stderr io.Writer) (*flag.FlagSet, *serveFlags) {
	return newServerFlags("serve", serveUsage, stderr)
}

// newServerFlags declares serve's flags under another command's name and usage, for the
// commands that open the server's state with its configuration (sweep).
func newServerFlags(name, usageText string, stderr io.Writer) (*flag.FlagSet, *serveFlags) {
	f := &serveFlags{}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := credentials.DefaultArgon2Params()
	fs.StringVar(&f.data, "data", "./data", "data directory")
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "listen address")
	fs.StringVar(&f.publicURL, "public-url", "", "base `URL` of the links in e-mails (default: http:// and --addr, 127.0.0.1 for an unspecified host)")
	fs.StringVar(&f.policyFile, "policy-file", "", "policy JSON `file` (settings as in domain.Policy)")
	fs.Var(&f.policies, "policy", "policy `setting=value` override, repeatable")
	fs.StringVar(&f.sync, "sync", "full", "event log durability: full (fsync every commit) or normal")
	fs.StringVar(&f.cpuScheduling, "cpu-scheduling", serve.CPUBatch, "CPU scheduling of the server's threads: batch (Linux's SCHED_BATCH with 10 ms slices: a thread waking for a short task does not preempt a password hash) or normal (as the process started)")
	fs.StringVar(&f.store, "store", "sqlite", "event log: sqlite (in --data), postgres or kurrentdb (shared by several nodes, at --store-url)")
	fs.StringVar(&f.storeURL, "store-url", "", "event log `URL` for --store postgres (postgres://...; ?search_path=NAME picks the schema) or kurrentdb (esdb://...)")
	fs.StringVar(&f.archive, "archive", "", "`DIR` of the sqlite log's archive segments, which accountd archive seals (default DATA/archive; may be other storage)")
	fs.Var(&f.hotWindow, "hot-window", "archive the sqlite log's events older than this while serving (elected hourly sweep): `N`mo or Nd, at least 3mo; default: off, archival by accountd archive")
	fs.StringVar(&f.keys, "keys", "", "`DIR` of the MFA and link keys, mfa.key and link.key (default DATA/keys, generated on first start); give every node of a shared log the same one, e.g. a mounted secret")
	fs.StringVar(&f.tokensFile, "tokens-file", "", "API tokens `file`, one token:role per line")
	fs.UintVar(&f.argonMemory, "argon2-memory-kib", uint(def.MemoryKiB), "argon2id memory cost in KiB")
	fs.UintVar(&f.argonIterations, "argon2-iterations", uint(def.Iterations), "argon2id iterations")
	fs.UintVar(&f.argonParallelism, "argon2-parallelism", uint(def.Parallelism), "argon2id lanes")
	fs.StringVar(&f.smtpAddr, "smtp-addr", "", "SMTP submission `host:port`; empty writes .eml files to DATA/outbox")
	fs.StringVar(&f.smtpUser, "smtp-username", "", "SMTP user name")
	fs.StringVar(&f.smtpPass, "smtp-password", "", "SMTP password (prefer the environment variable)")
	fs.BoolVar(&f.smtpStartTLS, "smtp-starttls", true, "require STARTTLS")
	fs.StringVar(&f.mailFrom, "mail-from", "accountd <no-reply@localhost>", "sender of the e-mails")
	fs.DurationVar(&f.mailMaxAge, "mail-max-age", 72*time.Hour, "do not mail about events older than this (a new or restored node would otherwise mail the whole past); negative: no bound")
	fs.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.Int64Var(&f.maxBody, "max-body-bytes", api.DefaultMaxBodyBytes, "largest request body accepted")
	fs.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 20*time.Second, "how long to drain requests on SIGINT/SIGTERM")
	fs.BoolVar(&f.console, "console", true, "serve the browser console at /console/ (sign-in with a role's API token)")
	fs.BoolVar(&f.publicPages, "public-pages", true, "serve the pages the mailed links open (/activate, /reset-password, /unlock); off for a vendor with its own front end")
	fs.BoolVar(&f.metrics, "metrics", true, "serve Prometheus metrics at /metrics, without a token, on the API's listener")
	fs.BoolVar(&f.outbox, "outbox", true, "send mail from this node (on a shared PostgreSQL log the nodes elect one sender; false keeps this node out of the election)")
	fs.BoolVar(&f.sweep, "sweep", true, "run the hourly inactivity sweep on this node (elected like the outbox; false keeps this node out)")
	fs.StringVar(&f.nodeID, "node-id", "", "this node's name in the lease table and the nodes view (default: host name and a random suffix, new at each start)")
	fs.DurationVar(&f.leaseTTL, "lease-ttl", lease.DefaultTTL, "how long a node holds singleton work (outbox, sweep, streams) without renewing its lease: a dead holder's work moves within TTL + renew")
	fs.DurationVar(&f.leaseRenew, "lease-renew", lease.DefaultRenew, "how often the holder renews its leases and the others try to take them (at most a third of --lease-ttl)")
	fs.IntVar(&f.snapshotEvery, "snapshot-every", snapshot.DefaultEvery, "save a folded account or property beside the log every `N` events of its stream (0: none; with kurrentdb: none)")
	fs.StringVar(&f.personalKeys, "personal-keys", "", personalKeysHelp)
	fs.IntVar(&f.personalRetention, "personal-retention", personal.DefaultRetentionMonths, "`months` IP addresses, user agents and devices of events stay readable; the hourly sweep destroys the keys of older months (at least 12: PCI DSS 10.5.1)")
	registerDetectorFlags(fs, &f.detect)
	f.streams.register(fs)
	f.checkpoints.register(fs)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usageText)
		fs.VisitAll(func(fl *flag.Flag) {
			name, help := flag.UnquoteUsage(fl)
			fmt.Fprintf(fs.Output(), "  --%s %s\n    \t%s [%s]", fl.Name, name, help, envName(fl.Name))
			if fl.DefValue != "" && fl.DefValue != "[]" {
				fmt.Fprintf(fs.Output(), " (default %q)", fl.DefValue)
			}
			fmt.Fprintln(fs.Output())
		})
	}
	return fs, f
}

// Environment variables read besides the flags' equivalents.
const (
	envTokens  = envPrefix + "TOKENS"
	envMFAKey  = envPrefix + "MFA_KEY"
	envLinkKey = envPrefix + "LINK_KEY"
)

// parseServe turns arguments and environment into the server's configuration. Nothing is
// opened here, so every mistake is reported before anything is created on disk.
func parseServe(args, environ []string, stderr io.Writer) (serve.Config, error) {
	return parseServerFlags("serve", serveUsage, args, environ, stderr)
}

func parseServerFlags(name, usageText string, args, environ []string, stderr io.Writer) (serve.Config, error) {
	fs, f := newServerFlags(name, usageText, stderr)
	if err := fs.Parse(args); err != nil {
		return serve.Config{}, err
	}
	if fs.NArg() > 0 {
		return serve.Config{}, usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	env := envMap(environ)
	if err := applyEnv(fs, env); err != nil {
		return serve.Config{}, err
	}
	logger, err := newLogger(stderr, f.logFormat, f.logLevel)
	if err != nil {
		return serve.Config{}, usageError{err}
	}
	for _, k := range unknownEnv(fs, env, append([]string{envTokens, envMFAKey, envLinkKey, envBenchToken}, otherCommandsEnv()...)...) {
		logger.Warn("ignoring unknown environment variable", "name", k)
	}
	if f.publicURL == "" {
		f.publicURL = publicURLOf(f.addr)
	}
	cfg := serve.Config{DataDir: f.data, Addr: f.addr, PublicURL: strings.TrimRight(f.publicURL, "/"), Logger: logger,
		MaxBodyBytes: f.maxBody, ShutdownTimeout: f.shutdownTimeout, DisableMetrics: !f.metrics, DisableOutbox: !f.outbox,
		DisableSweep: !f.sweep, NodeID: f.nodeID, LeaseTTL: f.leaseTTL, LeaseRenew: f.leaseRenew, Version: toolVersion(),
		KeysDir: f.keys, DisableConsole: !f.console, DisablePublicPages: !f.publicPages}
	if err := (&lease.Elector{TTL: f.leaseTTL, Renew: f.leaseRenew}).Validate(); err != nil {
		return cfg, usageError{fmt.Errorf("--lease-ttl, --lease-renew: %w", err)}
	}
	if err := personal.CheckRetention(f.personalRetention); err != nil {
		return cfg, usageError{fmt.Errorf("--personal-retention: %w", err)}
	}
	cfg.PersonalKeys, cfg.PersonalRetention = f.personalKeys, f.personalRetention
	switch {
	case f.snapshotEvery < 0:
		return cfg, usageError{fmt.Errorf("--snapshot-every %d: want 0 (none) or more", f.snapshotEvery)}
	case f.snapshotEvery == 0:
		cfg.SnapshotEvery = -1
	default:
		cfg.SnapshotEvery = f.snapshotEvery
	}

	switch f.sync {
	case "full":
		cfg.Sync = sqlite.Full
	case "normal":
		cfg.Sync = sqlite.Normal
	default:
		return cfg, usageError{fmt.Errorf("--sync %q: want full or normal", f.sync)}
	}
	switch f.cpuScheduling {
	case serve.CPUBatch, serve.CPUNormal:
		cfg.CPUScheduling = f.cpuScheduling
	default:
		return cfg, usageError{fmt.Errorf("--cpu-scheduling %q: want %s or %s", f.cpuScheduling, serve.CPUBatch, serve.CPUNormal)}
	}
	switch f.store {
	case serve.StoreSQLite:
		if f.storeURL != "" {
			return cfg, usageError{errors.New("--store-url is only for --store postgres or kurrentdb")}
		}
	case serve.StorePostgres, serve.StoreKurrentDB:
		if f.storeURL == "" {
			return cfg, usageError{fmt.Errorf("--store %s needs --store-url", f.store)}
		}
	default:
		return cfg, usageError{fmt.Errorf("--store %q: want sqlite, postgres or kurrentdb", f.store)}
	}
	cfg.Store, cfg.StoreURL = f.store, f.storeURL
	cfg.ArchiveDir = f.archive
	if f.hotWindow != (hotWindow{}) {
		if err := f.hotWindow.check(); err != nil {
			return cfg, usageError{fmt.Errorf("--hot-window: %w", err)}
		}
		if f.store != "sqlite" {
			return cfg, usageError{fmt.Errorf("--hot-window: archival is for the sqlite log, not --store %s", f.store)}
		}
		cfg.HotWindow = serve.HotWindow{Months: f.hotWindow.months, Days: f.hotWindow.days}
	}
	if cfg.CheckpointInterval, err = time.ParseDuration(f.checkpoints.interval); err != nil || cfg.CheckpointInterval <= 0 {
		return cfg, usageError{fmt.Errorf("--checkpoint-interval %q: want a positive duration such as 1m", f.checkpoints.interval)}
	}
	if f.checkpoints.every < 1 {
		return cfg, usageError{fmt.Errorf("--checkpoint-every %d: want at least 1", f.checkpoints.every)}
	}
	cfg.SigningKey, cfg.CheckpointEvery, cfg.CheckpointOrigin = f.checkpoints.signingKey, f.checkpoints.every, f.checkpoints.origin
	policy, err := loadPolicy(f.policyFile, env, f.policies)
	if err != nil {
		return cfg, usageError{err}
	}
	cfg.Policy = &policy
	if err := validateDetectorFlags(f.detect); err != nil {
		return cfg, usageError{err}
	}
	detect := f.detect
	cfg.Detectors = &detect

	if f.argonMemory > 1<<22 || f.argonIterations > 1000 || f.argonParallelism > 255 {
		return cfg, usageError{errors.New("argon2 parameters out of range")}
	}
	argon := credentials.DefaultArgon2Params()
	argon.MemoryKiB, argon.Iterations, argon.Parallelism = uint32(f.argonMemory), uint32(f.argonIterations), uint8(f.argonParallelism)
	if _, err := credentials.NewHasher(argon); err != nil {
		return cfg, usageError{err}
	}
	cfg.Argon2 = &argon

	if v := env[envTokens]; v != "" {
		tokens, err := api.ParseTokens(v)
		if err != nil {
			return cfg, usageError{fmt.Errorf("%s: %w", envTokens, err)}
		}
		cfg.Tokens = append(cfg.Tokens, tokens...)
	}
	if f.tokensFile != "" {
		data, err := os.ReadFile(f.tokensFile)
		if err != nil {
			return cfg, usageError{fmt.Errorf("--tokens-file: %w", err)}
		}
		tokens, err := api.ParseTokens(string(data))
		if err != nil {
			return cfg, usageError{fmt.Errorf("--tokens-file %s: %w", f.tokensFile, err)}
		}
		if len(tokens) == 0 {
			return cfg, usageError{fmt.Errorf("--tokens-file %s: no token in the file", f.tokensFile)}
		}
		cfg.Tokens = append(cfg.Tokens, tokens...)
	}
	for _, k := range []struct {
		env string
		dst *[]byte
	}{{envMFAKey, &cfg.MFAKey}, {envLinkKey, &cfg.LinkKey}} {
		if v := strings.TrimSpace(env[k.env]); v != "" {
			key, err := serve.ParseHexKey(v, k.env)
			if err != nil {
				return cfg, usageError{err}
			}
			*k.dst = key
		}
	}
	if cfg.Streams, err = f.streams.configs(); err != nil {
		return cfg, usageError{err}
	}
	cfg.Mail = serve.MailConfig{From: f.mailFrom, SMTPAddr: f.smtpAddr, SMTPUsername: f.smtpUser, SMTPPassword: f.smtpPass, SMTPStartTLS: f.smtpStartTLS, MaxAge: f.mailMaxAge}
	return cfg, nil
}

// detectFlagPrefix starts the name of every detector threshold flag: --detect- and the
// setting's JSON name in kebab case (stuffing_window is --detect-stuffing-window).
const detectFlagPrefix = "detect-"

func detectFlagName(setting string) string {
	return detectFlagPrefix + strings.ReplaceAll(setting, "_", "-")
}

// registerDetectorFlags gives every setting of domain.DetectorPolicy (R3) a flag, with the
// defaults of domain.DefaultDetectorPolicy.
func registerDetectorFlags(fs *flag.FlagSet, p *domain.DetectorPolicy) {
	*p = domain.DefaultDetectorPolicy()
	dur := func(d *domain.Duration, setting, help string) {
		fs.Var((*durationFlag)(d), detectFlagName(setting), help)
	}
	dur(&p.SharedAccountWindow, "shared_account_window", "shared account: two sessions from different devices or addresses within this `duration` disable the account")
	dur(&p.StuffingWindow, "stuffing_window", "credential stuffing: the `duration` in which failures from one address are counted")
	fs.IntVar(&p.StuffingDistinctEmails, detectFlagName("stuffing_distinct_emails"), p.StuffingDistinctEmails, "credential stuffing: distinct e-mails failing from one address within the window that throttle it (at least 2)")
	dur(&p.StuffingCoolOff, "stuffing_cool_off", "credential stuffing: the `duration` a throttled address stays throttled")
	dur(&p.SprayingWindow, "spraying_window", "password spraying: the `duration` in which a property's failures are counted")
	fs.IntVar(&p.SprayingMinAccounts, detectFlagName("spraying_min_accounts"), p.SprayingMinAccounts, "password spraying: accounts of one property failing within the window that are recorded for review (at least 2)")
	fs.IntVar(&p.SprayingMaxAddresses, detectFlagName("spraying_max_addresses"), p.SprayingMaxAddresses, "password spraying: at most this many source addresses for the failures to count as one attack (at least 1)")
	dur(&p.MFAGuessingWindow, "mfa_guessing_window", "MFA guessing: the `duration` in which an account's MFA cooldowns are counted")
	fs.IntVar(&p.MFAGuessingCooldowns, detectFlagName("mfa_guessing_cooldowns"), p.MFAGuessingCooldowns, "MFA guessing: cooldowns within the window that disable the account (at least 1)")
	dur(&p.NewDeviceWindow, "new_device_window", "new device: a never-seen device signing in within this `duration` after a reset or unlock is detected")
	fs.BoolVar(&p.NewDeviceDisable, detectFlagName("new_device_disable"), p.NewDeviceDisable, "new device: disable the account instead of only recording the detection for review")
}

// validateDetectorFlags checks the thresholds with domain.DetectorPolicy.Validate, naming
// each bad setting by its flag and environment variable.
func validateDetectorFlags(p domain.DetectorPolicy) error {
	err := p.Validate()
	var perr *domain.PolicyError
	if !errors.As(err, &perr) {
		return err
	}
	parts := make([]string, len(perr.Problems))
	for i, pr := range perr.Problems {
		name := detectFlagName(pr.Field)
		parts[i] = fmt.Sprintf("--%s [%s]: %s", name, envName(name), pr.Message)
	}
	return fmt.Errorf("invalid detector thresholds: %s", strings.Join(parts, "; "))
}

// durationFlag is a domain.Duration as a flag: Go durations plus whole days ("1d").
type durationFlag domain.Duration

func (d *durationFlag) String() string { return domain.Duration(*d).String() }
func (d *durationFlag) Set(s string) error {
	v, err := domain.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = durationFlag(v)
	return nil
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

func runServe(args, environ []string, stderr io.Writer) error {
	cfg, err := parseServe(args, environ, stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := serve.New(ctx, cfg)
	if err != nil {
		return err
	}
	if file := srv.TokensFile(); file != "" {
		if srv.GeneratedTokens() {
			cfg.Logger.Info("generated one API token per role; give each client the token of its role", "tokens_file", file)
		} else {
			cfg.Logger.Info("API tokens read from the data directory", "tokens_file", file)
		}
	}
	return srv.ListenAndServe(ctx)
}

// publicURLOf is the base URL of mail links when --public-url is not given: the listener
// itself, so a server moved to another port does not mail links to the old one. A listener
// on every interface (":8080", "0.0.0.0:8080") is reached on this machine at 127.0.0.1.
func publicURLOf(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}
