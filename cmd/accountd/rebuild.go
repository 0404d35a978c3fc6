package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"

	"accountd/commands"
	"accountd/commands/credentials"
	"accountd/domain"
	"accountd/eventstore"
	"accountd/http/serve"
	"accountd/projections"
	"accountd/projections/compliance"
	"accountd/projections/detectors"
	"accountd/projections/timeline"
)

const rebuildUsage = `Usage: accountd rebuild [--projection NAME] [flags]

Rebuilds read models from the event log into a fresh copy of their database and swaps the
copy in atomically (rename over the old file): readers see the whole old database or the
whole new one. The server must be stopped (it opens the read models once, at start; with the
SQLite log the exclusive lock on events.db refuses to run while it is up).

Projections and their files in --data:
  status      readmodels.db  the account status the login flow reads
  compliance  readmodels.db  password rotation and access log (evidence exports)
  detectors   security.db    suspicious-activity detectors (acts through commands; actions
                             are idempotent and never fire for events older than 24 hours)
  timeline    security.db    the detection audit timeline
Without --projection every one of them is rebuilt. Rebuilding one leaves every other table
of its file as it was, rows and checkpoints included.

The outbox is never rebuilt: it sends mail, and replaying it would send every activation,
reset and unlock mail again. Its tables and checkpoint (in readmodels.db) are copied into the
rebuilt file unchanged.

Progress: a bar with rate and ETA when stderr is a terminal, a log line every --log-every
otherwise.

Examples:
  accountd rebuild --data /var/lib/accountd
  accountd rebuild --data ./data --projection status

Flags (environment equivalent in brackets):
`

// rebuildTarget is one rebuildable projection: the file it lives in and a fresh instance.
type rebuildTarget struct {
	name       string // the CLI name
	checkpoint string // the projection's Name(), accepted too
	file       string // in --data
	make       func(deps rebuildDeps) (projections.Projection, error)
}

// rebuildDeps is what some projections need to be built: the detectors act through commands.
type rebuildDeps struct {
	ctx   context.Context
	store eventstore.Store
	data  string
	log   *slog.Logger
}

var rebuildTargets = []rebuildTarget{
	{"status", projections.StatusName, "readmodels.db", func(rebuildDeps) (projections.Projection, error) { return projections.NewStatus(), nil }},
	{"compliance", compliance.Name, "readmodels.db", func(rebuildDeps) (projections.Projection, error) { return compliance.New(), nil }},
	{"detectors", detectors.Name, "security.db", newRebuildDetectors},
	{"timeline", timeline.Name, "security.db", func(rebuildDeps) (projections.Projection, error) { return timeline.New(), nil }},
}

// lookupTarget accepts the CLI name or the checkpoint name (account_status, ...).
func lookupTarget(name string) (rebuildTarget, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if n == "outbox" {
		return rebuildTarget{}, usageError{errors.New("the outbox is never rebuilt: it sends mail, and a replay would send every mail again")}
	}
	for _, t := range rebuildTargets {
		if n == t.name || n == t.checkpoint {
			return t, nil
		}
	}
	var names []string
	for _, t := range rebuildTargets {
		names = append(names, t.name)
	}
	return rebuildTarget{}, usageError{fmt.Errorf("--projection %q: want one of %s", name, strings.Join(names, ", "))}
}

func runRebuild(args, environ []string, stdout, stderr io.Writer) error {
	fs := newToolFlags("rebuild", rebuildUsage, stderr)
	var sf storeFlags
	sf.register(fs)
	only := fs.String("projection", "", "rebuild only this projection (status, compliance, detectors, timeline)")
	logEvery := fs.Duration("log-every", 5*time.Second, "interval of the progress lines when stderr is not a terminal")
	pos, err := parseInterleaved(fs, args, environ)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", pos[0])}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// A rebuild allocates decoded events by the million and keeps little of them: collecting
	// less often bought 19% on the 200,000-event benchmark (nothing at 1,000,000, where
	// SQLite dominates; BENCHMARKS.md) for a larger transient heap. An operator's GOGC wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	targets := rebuildTargets
	if *only != "" {
		t, err := lookupTarget(*only)
		if err != nil {
			return err
		}
		targets = []rebuildTarget{t}
	}
	store, err := sf.open()
	if err != nil {
		return err
	}
	defer store.Close()
	deps := rebuildDeps{ctx: ctx, store: store, data: sf.data, log: logger}
	// One rebuild per file, with every requested projection of that file in it.
	var files []string
	for _, t := range targets {
		if !slices.Contains(files, t.file) {
			files = append(files, t.file)
		}
	}
	for _, file := range files {
		var ps []projections.Projection
		for _, t := range targets {
			if t.file != file {
				continue
			}
			p, err := t.make(deps)
			if err != nil {
				return err
			}
			ps = append(ps, p)
		}
		path := filepath.Join(sf.data, file)
		bar := newProgress(stderr, "rebuild "+file, "events", *logEvery)
		var last projections.RebuildProgress
		res, err := projections.Rebuild(ctx, store, path, logger, func(p projections.RebuildProgress) {
			last = p
			bar.update(p.Done, p.Total)
		}, ps...)
		if err != nil {
			return err
		}
		bar.finish(last.Done, last.Total)
		fmt.Fprintf(stdout, "rebuilt %s (%s) to log position %d in %s and swapped it in\n",
			path, strings.Join(res.Projections, ", "), res.Head, res.Elapsed.Round(time.Millisecond))
	}
	return nil
}

// newRebuildDetectors wires the detectors to the real command side, as serve does. A
// replayed detection acts under the same deterministic command ID as the first time, so it
// writes nothing new; detections older than the act horizon never act at all.
func newRebuildDetectors(d rebuildDeps) (projections.Projection, error) {
	policies, err := commands.LoadPolicyHistory(d.ctx, d.store)
	if err != nil {
		return nil, err
	}
	mfaKey, err := rebuildKey(d.data, "mfa.key")
	if err != nil {
		return nil, err
	}
	linkKey, err := rebuildKey(d.data, "link.key")
	if err != nil {
		return nil, err
	}
	hasher, err := credentials.NewHasher(credentials.DefaultArgon2Params())
	if err != nil {
		return nil, err
	}
	mfa, err := credentials.NewMFA(mfaKey, "accountd")
	if err != nil {
		return nil, err
	}
	links, err := credentials.NewLinkKey(linkKey)
	if err != nil {
		return nil, err
	}
	svc, err := commands.NewService(commands.Config{Store: d.store, Clock: time.Now, Policy: policies.Current,
		Hasher: hasher, MFA: mfa, Links: links, IsCommonPassword: credentials.IsCommonPassword})
	if err != nil {
		return nil, err
	}
	return detectors.New(detectors.Config{Policy: domain.DefaultDetectorPolicy(), Clock: time.Now, Logger: d.log,
		Actions: detectors.ActionsFrom(func() *commands.Service { return svc }, commands.NewThrottles(d.store, time.Now), commands.NewPropertyDetections(d.store, time.Now))})
}

// rebuildKey reads a key of --data/keys as serve does. The detectors' actions (disable,
// throttle, record an attack) issue no link and seal no secret, so a data directory without
// keys gets a throw-away key rather than a new file the server would then adopt.
func rebuildKey(data, name string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(data, "keys", name))
	if errors.Is(err, fs.ErrNotExist) {
		key := make([]byte, 32)
		_, err := rand.Read(key)
		return key, err
	}
	if err != nil {
		return nil, err
	}
	if len(b) == 32 {
		return b, nil
	}
	return serve.ParseHexKey(strings.TrimSpace(string(b)), name)
}
