package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"

	"accountd/commands"
	"accountd/domain"
	"accountd/domain/credentials"
	"accountd/eventstore"
	"accountd/eventstore/eventlog"
	"accountd/http/api"
	"accountd/http/client"
	"accountd/http/serve"
	"accountd/projections"
	"accountd/projections/compliance"
	"accountd/projections/detectors"
	"accountd/projections/timeline"
)

const rebuildUsage = `Usage: accountd rebuild [--projection NAME[,NAME...]] [flags]

Rebuilds read models from the event log into fresh tables and swaps them in atomically:
readers see the old tables or the new ones, never a mix.

With the server running on --data, the rebuild happens inside it, online: fresh projections
replay the log into a scratch file while the server keeps answering from the old read
models; then the rebuilt projections pause for a moment (the others carry on), catch up
with what was appended meanwhile and are swapped in by one transaction. The command finds
the server through --data (the server records its address in server.url) or --server, and
authenticates with the admin token of --data/tokens or --token. Interrupting the command
does not stop the rebuild; GET /v1/admin/rebuilds shows it.

With no server on --data, the command rebuilds offline, the same way, holding the data
directory's lock so that a server cannot start on it meanwhile.

Projections and their files in --data:
  status      readmodels.db  the account status the login flow reads
  compliance  readmodels.db  password rotation and access log (evidence exports)
  detectors   security.db    suspicious-activity detectors (acts through commands; actions
                             are idempotent and never fire for events older than 24 hours)
  timeline    security.db    the detection audit timeline
Without --projection every one of them is rebuilt. Rebuilding one leaves every other table
of its file as it was, rows and checkpoints included.

The outbox is never rebuilt: it is not a read model but a reader that sends mail. Its
tables and checkpoint (in readmodels.db) are left as they are. What it sent is recorded in
the log (mail_sent / mail_dead_lettered events), so deleting readmodels.db with the server
stopped replays it without sending any mail again.

Progress: a bar with rate and ETA when stderr is a terminal, a log line every --log-every
otherwise.

Examples:
  accountd rebuild --data /var/lib/accountd
  accountd rebuild --data ./data --projection status
  accountd rebuild --data ./data --max-rate 50000     # online, leaving the server most of the CPU
  accountd rebuild --server http://10.0.0.5:8080 --token "$ADMIN_TOKEN" --projection compliance,status

Flags (environment equivalent in brackets):
`

// rebuildDeps is what some projections need to be built offline: the detectors act
// through commands.
type rebuildDeps struct {
	ctx    context.Context
	store  eventstore.Store
	data   string
	log    *slog.Logger
	detect domain.DetectorPolicy
}

// offlineProjection makes a fresh instance of a rebuild target for an offline rebuild.
func offlineProjection(name string, d rebuildDeps) (projections.Projection, error) {
	switch name {
	case "status":
		return projections.NewStatus(), nil
	case "compliance":
		return compliance.New(), nil
	case "detectors":
		return newRebuildDetectors(d)
	case "timeline":
		return timeline.New(), nil
	}
	return nil, fmt.Errorf("no offline rebuild for %q", name)
}

type rebuildFlags struct {
	store    storeFlags
	only     string
	logEvery time.Duration
	server   string
	token    string
	maxRate  int
	detect   domain.DetectorPolicy
}

func runRebuild(args, environ []string, stdout, stderr io.Writer) error {
	fs := newToolFlags("rebuild", rebuildUsage, stderr)
	var f rebuildFlags
	f.store.register(fs)
	fs.StringVar(&f.only, "projection", "", "rebuild only these projections, comma-separated (status, compliance, detectors, timeline)")
	fs.DurationVar(&f.logEvery, "log-every", 5*time.Second, "interval of the progress lines when stderr is not a terminal")
	fs.StringVar(&f.server, "server", "", "rebuild online through the server at this `URL` (default: the one running on --data, if any)")
	fs.StringVar(&f.token, "token", "", "admin token for --server (default: the admin token in --data/tokens)")
	fs.IntVar(&f.maxRate, "max-rate", 0, "bound the replay to this many `events/s` (0: unbounded), e.g. so an online rebuild leaves the server CPU")
	registerDetectorFlags(fs, &f.detect)
	pos, err := parseInterleaved(fs, args, environ)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", pos[0])}
	}
	if f.maxRate < 0 {
		return usageError{errors.New("--max-rate: want events per second, 0 for unbounded")}
	}
	var names []string
	for n := range strings.SplitSeq(f.only, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	targets, err := serve.LookupRebuildTargets(names)
	if err != nil {
		return usageError{fmt.Errorf("--projection: %w", err)}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if f.server != "" {
		return rebuildOnline(ctx, f, targets, stdout, stderr)
	}
	release, err := serve.LockDataDir(f.store.data)
	if errors.Is(err, serve.ErrDataDirInUse) {
		if f.server, err = serve.ServerURL(f.store.data); err != nil {
			return fmt.Errorf("a server holds %s but %w; give its address with --server", f.store.data, err)
		}
		fmt.Fprintf(stderr, "the server at %s holds %s: rebuilding online, while it keeps answering\n", f.server, f.store.data)
		return rebuildOnline(ctx, f, targets, stdout, stderr)
	}
	if err != nil {
		return err
	}
	defer release()
	if err := validateDetectorFlags(f.detect); err != nil {
		return usageError{err}
	}
	return rebuildOffline(ctx, f, targets, stdout, stderr)
}

// rebuildOffline rebuilds in this process, each file with its requested projections.
func rebuildOffline(ctx context.Context, f rebuildFlags, targets []serve.RebuildTarget, stdout, stderr io.Writer) error {
	// A rebuild allocates decoded events by the million and keeps little of them: collecting
	// less often bought 19% on the 200,000-event benchmark (nothing at 1,000,000, where
	// SQLite dominates; BENCHMARKS.md) for a larger transient heap. An operator's GOGC wins.
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(400))
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	store, err := f.store.openLog()
	if err != nil {
		return err
	}
	defer store.Close()
	deps := rebuildDeps{ctx: ctx, store: store, data: f.store.data, log: logger, detect: f.detect}
	for _, group := range serve.RebuildFiles(targets) {
		var ps []projections.Projection
		for _, t := range group {
			p, err := offlineProjection(t.Name, deps)
			if err != nil {
				return err
			}
			ps = append(ps, p)
		}
		path := filepath.Join(f.store.data, group[0].File)
		bar := newProgress(stderr, "rebuild "+group[0].File, "events", f.logEvery)
		var last projections.RebuildProgress
		res, err := projections.Rebuild(ctx, store, path, logger, projections.RebuildOptions{MaxRate: f.maxRate, Progress: func(p projections.RebuildProgress) {
			if p.Phase == projections.PhaseReplay {
				last = p
				bar.update(p.Done, p.Total)
			}
		}}, ps...)
		if err != nil {
			return err
		}
		bar.finish(last.Done, last.Total)
		fmt.Fprintf(stdout, "rebuilt %s (%s) to log position %d in %s and swapped it in\n",
			path, strings.Join(res.Projections, ", "), res.Head, res.Elapsed.Round(time.Millisecond))
	}
	return nil
}

// rebuildPoll is how often the online rebuild asks the server how far it got.
const rebuildPoll = 200 * time.Millisecond

// rebuildOnline asks the server to rebuild and follows the rebuild to its end.
func rebuildOnline(ctx context.Context, f rebuildFlags, targets []serve.RebuildTarget, stdout, stderr io.Writer) error {
	token := f.token
	if token == "" {
		var err error
		if token, err = adminToken(f.store.data); err != nil {
			return fmt.Errorf("%w; give one with --token", err)
		}
	}
	c := client.New(f.server, token, &http.Client{Timeout: 30 * time.Second})
	names := make([]string, len(targets))
	for i, t := range targets {
		names[i] = t.Name
	}
	job, err := c.StartRebuild(ctx, api.RebuildRequest{Projections: names, MaxRate: f.maxRate})
	if err != nil {
		return refusedBy(c, err)
	}
	var bar *progress
	var barFile string
	reported := 0
	for {
		// Each file's bar ends when its result arrives; a new file starts a new bar.
		if job.File != "" && job.File != barFile && job.Phase == string(projections.PhaseReplay) {
			barFile, bar = job.File, newProgress(stderr, "rebuild "+job.File+" (online)", "events", f.logEvery)
			bar.base = job.Done
		}
		if bar != nil && job.File == barFile {
			bar.update(job.Done, job.Total)
		}
		for ; reported < len(job.Results); reported++ {
			r := job.Results[reported]
			if bar != nil && barFile == r.File {
				bar.finish(r.Head, r.Head)
				bar = nil
			}
			fmt.Fprintf(stdout, "rebuilt %s (%s) online to log position %d in %s; its projections paused %s for the swap\n",
				r.File, strings.Join(r.Projections, ", "), r.Head, (time.Duration(r.ElapsedMS) * time.Millisecond).String(), (time.Duration(r.PausedMS) * time.Millisecond).String())
		}
		switch job.State {
		case api.RebuildSucceeded:
			return nil
		case api.RebuildFailed:
			return fmt.Errorf("the server's rebuild %s failed (its read models are as they were): %s", job.ID, job.Error)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("stopped following rebuild %s; it goes on in the server (GET %s/v1/admin/rebuilds/%s)", job.ID, c.BaseURL, job.ID)
		case <-time.After(rebuildPoll):
		}
		if job, err = c.Rebuild(ctx, job.ID); err != nil {
			return refusedBy(c, err)
		}
	}
}

// adminToken reads the admin token from the tokens file serve generated in data.
func adminToken(data string) (string, error) { return roleToken(data, api.RoleAdmin) }

// roleToken reads a token with role from the tokens file serve generated in data.
func roleToken(data string, role api.Role) (string, error) {
	b, err := os.ReadFile(filepath.Join(data, "tokens"))
	if err != nil {
		return "", fmt.Errorf("no %s token: %w", role, err)
	}
	tokens, err := api.ParseTokens(string(b))
	if err != nil {
		return "", fmt.Errorf("%s: %w", filepath.Join(data, "tokens"), err)
	}
	for _, t := range tokens {
		if slices.Contains(t.Roles, role) {
			return t.Secret, nil
		}
	}
	return "", fmt.Errorf("no %s token in %s", role, filepath.Join(data, "tokens"))
}

// refusedBy words a server's refusal for the terminal.
func refusedBy(c *client.Client, err error) error {
	if e, ok := err.(*client.Error); ok {
		return fmt.Errorf("the server at %s refused: %s: %s", c.BaseURL, e.Code, e.Message)
	}
	return err
}

// newRebuildDetectors wires the detectors to the real command side, as serve does. A
// replayed detection acts under the same deterministic command ID as the first time, so it
// writes nothing new; detections older than the act horizon never act at all.
func newRebuildDetectors(d rebuildDeps) (projections.Projection, error) {
	policies, err := eventlog.LoadPolicyHistory(d.ctx, d.store)
	if err != nil {
		return nil, err
	}
	mfaKey, err := rebuildKey(d.data, "mfa.key", envMFAKey)
	if err != nil {
		return nil, err
	}
	linkKey, err := rebuildKey(d.data, "link.key", envLinkKey)
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
	return detectors.New(detectors.Config{Policy: d.detect, Clock: time.Now, Logger: d.log,
		Actions: commands.DetectionActions{Service: func() *commands.Service { return svc }, Throttles: commands.NewThrottles(d.store, time.Now, links), Properties: commands.NewPropertyDetections(d.store, time.Now)}})
}

// rebuildKey reads a key of --data/keys as serve does. The detectors' actions (disable,
// throttle, record an attack) issue no link and seal no secret, so a data directory without
// keys gets a throw-away key rather than a new file the server would then adopt. A key
// given to the server by its environment variable is read from the same variable: the link
// key also names the throttle streams (by the address's pseudonym), and a throttle written
// under another key's name would be one the server never reads.
func rebuildKey(data, name, env string) ([]byte, error) {
	if v := strings.TrimSpace(os.Getenv(env)); v != "" {
		return serve.ParseHexKey(v, env)
	}
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
