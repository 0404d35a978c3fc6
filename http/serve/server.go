// Package serve assembles accountd's server from its parts: the SQLite event log, the read
// models and their runner, the command service, the outbox and the HTTP API. The binary
// (cmd/accountd) turns flags into a Config; tests build the same server in-process with an
// injected clock.
package serve

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"accountd/commands"
	"accountd/domain"
	"accountd/domain/credentials"
	"accountd/eventstore"
	"accountd/eventstore/eventlog"
	"accountd/eventstore/lease"
	"accountd/eventstore/personal"
	"accountd/eventstore/snapshot"
	"accountd/eventstore/sqlite"
	"accountd/http/api"
	"accountd/internal/threadcpu"
	"accountd/projections"
	"accountd/projections/compliance"
	"accountd/projections/detectors"
	"accountd/projections/outbox"
	"accountd/projections/streams"
	"accountd/projections/timeline"
)

// Config is everything the server needs. Zero values take the defaults documented on each
// field, so Config{DataDir: dir} is a working server.
type Config struct {
	// DataDir holds events.db, readmodels.db, keys/, tokens and outbox/ (default ./data).
	DataDir string
	// Addr is the listen address (default 127.0.0.1:8080).
	Addr string
	// PublicURL is the base of the links in e-mails (default http://127.0.0.1:8080).
	PublicURL string
	// Policy is validated at start (default domain.DefaultPolicy()).
	Policy *domain.Policy
	// Sync is the event log's durability (default sqlite.Full).
	Sync sqlite.Synchronous
	// Store selects the event log: StoreSQLite (default, DataDir/events.db), StorePostgres
	// or StoreKurrentDB, the last two at StoreURL and shareable by several nodes.
	Store    string
	StoreURL string
	// ArchiveDir holds the SQLite log's archive segments (default DataDir/archive; it may
	// sit on other storage). Reads reach into it for events sealed by accountd archive.
	ArchiveDir string
	// HotWindow, when set, has the elected hourly sweep archive the SQLite log's events older
	// than it while the server serves (archival.go); zero leaves archival to accountd archive.
	HotWindow HotWindow
	// Argon2 sets the password hashing cost (default credentials.DefaultArgon2Params()).
	Argon2 *credentials.Argon2Params
	// CPUScheduling is CPUBatch (the default: the process's threads under Linux's
	// SCHED_BATCH, so the hashes are not preempted by every short wake-up, procs.go) or
	// CPUNormal (left as the process started).
	CPUScheduling string
	// Tokens are the API clients. Empty: DataDir/tokens, generated on first start and
	// re-read every TokensReload (default DefaultTokensReload) while the server runs.
	Tokens       []api.Token
	TokensReload time.Duration
	// MFAKey and LinkKey are 32-byte secrets. Empty: KeysDir/{mfa,link}.key, generated
	// on first start. Every node of one log must use the same two: the log records their
	// fingerprints and a node whose keys differ refuses to start (node_keys.go).
	MFAKey, LinkKey []byte
	// KeysDir holds mfa.key and link.key (default DataDir/keys). Point every node of a
	// shared log at one directory (a mounted secret).
	KeysDir string
	// Mail configures the outbox.
	Mail MailConfig
	// DisableOutbox keeps this node from sending mail, and out of the outbox's election.
	// Nodes sharing a PostgreSQL log elect one of them to send mail (singleton.go); the
	// delivery records in the log keep an outbox from sending what another has recorded. On
	// KurrentDB, which has no lease table, leave the outbox on for exactly one node: two at
	// once race and may both send a mail (with the same Message-ID).
	DisableOutbox bool
	// DisableSweep keeps this node out of the inactivity sweep's election.
	DisableSweep bool
	// NodeID names this node in the lease table (default: host name and a random suffix,
	// new at every start). LeaseTTL and LeaseRenew time the elections (defaults
	// lease.DefaultTTL and lease.DefaultRenew: a dead holder's work moves within 13 s).
	NodeID               string
	LeaseTTL, LeaseRenew time.Duration
	// Version is what the node reports in the nodes view.
	Version string
	// IsCommonPassword is the common-password list (default credentials.IsCommonPassword).
	IsCommonPassword func(string) bool
	Logger           *slog.Logger
	// Clock is the source of "now" for every rule (default time.Now). Tests inject theirs.
	Clock func() time.Time
	// Detectors holds the detection thresholds (default domain.DefaultDetectorPolicy()).
	Detectors *domain.DetectorPolicy
	// HTTP limits. Zero values take the defaults in withDefaults.
	MaxBodyBytes      int64
	StatusWait        time.Duration
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	ShutdownTimeout   time.Duration
	// DisableConsole turns off the browser console at /console/; DisablePublicPages the
	// pages the mailed links open (/activate, /reset-password, /unlock), for a vendor whose
	// own front end serves them (http/console).
	DisableConsole, DisablePublicPages bool
	// DisableMetrics turns off /metrics and the instrumentation behind it (metrics.go).
	DisableMetrics bool
	// Streams send the log to NATS JetStream, RabbitMQ or webhooks, each from its checkpoint
	// in DataDir/streams.db (streams.go).
	Streams []streams.Config
	// SweepPoll is how often the inactivity sweeper looks at the clock (default 1 min). The
	// sweep itself runs once per hour of Clock, so a clock that jumps is noticed at the
	// next look.
	SweepPoll time.Duration
	// SigningKey is the checkpoint signing key file (default DataDir/keys/checkpoint-signing.key,
	// created on first start). Keep it outside the data directory to keep it off the disk's backups.
	SigningKey string
	// CheckpointEvery and CheckpointInterval: a checkpoint is signed once that many events
	// are verified since the last one, and every interval when the log grew (defaults
	// DefaultCheckpointEvery, DefaultCheckpointInterval).
	CheckpointEvery    int64
	CheckpointInterval time.Duration
	// CheckpointOrigin is the origin line of checkpoints and the name of the signing key
	// (default DefaultCheckpointOrigin); it applies when the key is created.
	CheckpointOrigin string
	// StorageProbe is how often, while the event log's storage is unavailable, the server
	// checks whether it takes writes again (default api.StorageRetryAfter seconds).
	StorageProbe time.Duration
	// SnapshotEvery: a folded account or property is saved beside the log every that many
	// events of its stream (0: snapshot.DefaultEvery; negative: no snapshots). In
	// DataDir/snapshots.db with the SQLite log, in the log's schema with PostgreSQL; none
	// with KurrentDB (snapshots.go).
	SnapshotEvery int
	// PersonalKeys is the key store the personal data of events is sealed under
	// (eventstore/personal): a SQLite file or a postgres:// URL; "" is
	// DataDir/personal-keys.db, except with the postgres store, whose keys live in its
	// database beside the log (personal.go).
	PersonalKeys string
	// PersonalRetention is how long, in months, IP addresses, user agents and devices of
	// events stay readable: the sweep destroys the keys of older months (0:
	// personal.DefaultRetentionMonths; less than personal.MinRetentionMonths is refused).
	PersonalRetention int

	// wrapStore, for tests, wraps the event log as opened (before instrumentation).
	wrapStore func(eventstore.Store) eventstore.Store
}

// MailConfig selects how the outbox delivers: SMTP when SMTPAddr is set, otherwise one
// .eml file per message under DataDir/outbox.
type MailConfig struct {
	From         string
	SMTPAddr     string
	SMTPUsername string
	SMTPPassword string
	SMTPStartTLS bool
	// MaxAttempts is how many failed sends a mail gets before it is dead-lettered (0: the
	// outbox's default).
	MaxAttempts int
	// MaxAge: events older than this are not mailed about (0: outbox.DefaultMaxAge, 72 h;
	// negative: no bound), so a new or restored node does not mail the past.
	MaxAge time.Duration
}

func (c Config) withDefaults() Config {
	if c.DataDir == "" {
		c.DataDir = "./data"
	}
	if c.KeysDir == "" {
		c.KeysDir = filepath.Join(c.DataDir, "keys")
	}
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://127.0.0.1:8080"
	}
	if c.Policy == nil {
		p := domain.DefaultPolicy()
		c.Policy = &p
	}
	if c.Argon2 == nil {
		p := credentials.DefaultArgon2Params()
		c.Argon2 = &p
	}
	if c.Mail.From == "" {
		c.Mail.From = "accountd <no-reply@localhost>"
	}
	if c.CPUScheduling == "" {
		c.CPUScheduling = CPUBatch
	}
	if c.IsCommonPassword == nil {
		c.IsCommonPassword = credentials.IsCommonPassword
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.ReadHeaderTimeout, 5*time.Second)
	def(&c.ReadTimeout, 15*time.Second)
	def(&c.WriteTimeout, 30*time.Second)
	def(&c.IdleTimeout, 2*time.Minute)
	def(&c.ShutdownTimeout, 20*time.Second)
	def(&c.SweepPoll, time.Minute)
	def(&c.StorageProbe, api.StorageRetryAfter*time.Second)
	if c.PersonalRetention == 0 {
		c.PersonalRetention = personal.DefaultRetentionMonths
	}
	return c
}

// Server is an assembled accountd.
type Server struct {
	cfg Config
	log *slog.Logger
	// hashCPU counts the sign-in path's argon2id computations and their CPU (hashcpu.go).
	hashCPU threadcpu.Counter
	// store is the log as everything that decodes events reads and writes it: personal
	// values sealed on append and opened on read (personal.go). logStore is the same log
	// as stored, tokens and all: what the hash chain, the transparency tree and evidence
	// proofs commit to.
	store      eventstore.Store
	logStore   eventstore.Store
	personal   *personal.Store
	snapshots  snapshot.Store // nil: none (snapshots.go)
	readDB     *sql.DB
	status     *projections.Status
	runner     *projections.Runner
	service    *commands.Service
	api        *api.API
	handler    http.Handler // the API, with the console in front when it is on
	links      *credentials.LinkKey
	outbox     *outbox.Outbox
	tokensFile string
	generated  bool
	evidence   evidenceParts
	// security follows the log for the detectors and the detection timeline, on its own
	// database (security.db): a detector acting (a command while its transaction is open)
	// must never hold the write lock the login flow's status projection needs.
	securityDB     *sql.DB
	securityRunner *projections.Runner
	// metrics is the Prometheus registry /metrics serves (nil when disabled).
	metrics   *prometheus.Registry
	throttles *commands.Throttles
	rebuilds  *rebuilds
	// streams send the log out; their checkpoints live in their own file, never rebuilt.
	streams   *streams.Set
	streamsDB *sql.DB
	unlock    func() error // releases the data directory's lock
	storage   *eventstore.StorageHealth
	// sweptHour is the hour of the server's clock (Unix seconds) the sweeper last swept.
	sweptHour atomic.Int64
	witness   *logWitness // the transparency log (nil when the store keeps no tree)
	// archivable is the SQLite log as opened, which the sweep archives (nil: another store)
	archivable *sqlite.Store

	// Singleton work (singleton.go): the lease table, whether it is the shared log's, this
	// node's elector and name, and the work it competes for.
	leases       lease.Store
	sharedLeases bool
	elector      *lease.Elector
	nodeID       string
	startedAt    time.Time
	elected      []string

	// background is the context of the background work, set by Start.
	background atomic.Pointer[context.Context]

	startOnce sync.Once
	stop      context.CancelFunc
	workers   sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// worker is a background loop the server runs until it stops.
type worker interface {
	Run(ctx context.Context) error
}

// New opens everything and checks the configuration; nothing runs until Start or Serve.
// On error, whatever was opened is closed again.
func New(ctx context.Context, cfg Config) (_ *Server, err error) {
	cfg = cfg.withDefaults()
	if err := cfg.Policy.Validate(); err != nil {
		return nil, err
	}
	if cfg.CPUScheduling != CPUBatch && cfg.CPUScheduling != CPUNormal {
		return nil, fmt.Errorf("cpu scheduling %q: want %s or %s", cfg.CPUScheduling, CPUBatch, CPUNormal)
	}
	s := &Server{cfg: cfg, log: cfg.Logger}
	defer func() {
		if err != nil {
			s.closeResources()
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	if s.unlock, err = LockDataDir(cfg.DataDir); err != nil {
		return nil, err
	}
	s.warnLooseDataDir()
	spareProc()
	s.scheduleCPU()
	hasher, err := credentials.NewHasher(*cfg.Argon2)
	if err != nil {
		return nil, err
	}
	hasher.SetMeter(s.hashCPU.Start)
	mfaKey, err := s.key(cfg.MFAKey, mfaKeyFile)
	if err != nil {
		return nil, err
	}
	linkKey, err := s.key(cfg.LinkKey, linkKeyFile)
	if err != nil {
		return nil, err
	}
	mfa, err := credentials.NewMFA(mfaKey, "accountd")
	if err != nil {
		return nil, err
	}
	if s.links, err = credentials.NewLinkKey(linkKey); err != nil {
		return nil, err
	}
	tokens := cfg.Tokens
	if len(tokens) == 0 {
		s.tokensFile = filepath.Join(cfg.DataDir, "tokens")
		if tokens, s.generated, err = loadOrCreateTokens(s.tokensFile, s.log); err != nil {
			return nil, err
		}
	}

	if s.store, err = openStore(ctx, cfg); err != nil {
		return nil, err
	}
	if cfg.wrapStore != nil {
		s.store = cfg.wrapStore(s.store)
	}
	raw := s.store
	s.archivable, _ = eventstore.As[*sqlite.Store](raw)
	if s.store, err = s.instrumentStore(s.store); err != nil {
		return nil, err
	}
	s.store = s.watchStorage(s.store)
	if err := s.sealPersonal(ctx); err != nil {
		return nil, err
	}
	if err := s.registerStorageMetrics(); err != nil {
		return nil, err
	}
	if err := s.checkKeys(ctx, map[string][]byte{domain.KeyPurposeMFA: mfaKey, domain.KeyPurposeLink: linkKey}); err != nil {
		return nil, err
	}
	if s.witness, err = s.openWitness(ctx, raw); err != nil {
		return nil, err
	}
	if err := s.openLeases(raw); err != nil {
		return nil, err
	}
	if s.readDB, err = s.openReadModel("readmodels.db"); err != nil {
		return nil, err
	}
	s.status = projections.NewStatus()
	s.throttles = commands.NewThrottles(s.store, cfg.Clock, s.links)
	tline := timeline.New()
	det, err := s.newDetectors()
	if err != nil {
		return nil, err
	}
	s.evidence.projection = compliance.New()
	if s.runner, err = projections.NewRunner(ctx, s.store, s.readDB, s.log.With("component", "projections"), s.status, s.evidence.projection); err != nil {
		return nil, err
	}
	if s.securityDB, err = s.openReadModel("security.db"); err != nil {
		return nil, err
	}
	if s.securityRunner, err = projections.NewRunner(ctx, s.store, s.securityDB, s.log.With("component", "security"), det, tline); err != nil {
		return nil, err
	}
	if err := s.registerRunnerMetrics(); err != nil {
		return nil, err
	}
	if s.evidence.policies, err = s.startPolicy(ctx, *cfg.Policy); err != nil {
		return nil, err
	}
	if s.snapshots, err = s.openSnapshots(ctx); err != nil {
		return nil, err
	}
	if s.service, err = commands.NewService(commands.Config{
		Store: s.store, Clock: cfg.Clock, Policy: s.evidence.policies.Current,
		Hasher: hasher, MFA: mfa, Links: s.links, IsCommonPassword: cfg.IsCommonPassword,
		Snapshots: s.snapshots, SnapshotKey: mfaKey, SnapshotEvery: cfg.SnapshotEvery, Shredder: s.personal,
	}); err != nil {
		return nil, err
	}
	if s.outbox, err = newOutbox(ctx, s); err != nil {
		return nil, err
	}
	if err := s.registerOutboxMetrics(); err != nil {
		return nil, err
	}
	if err := s.openStreams(ctx); err != nil {
		return nil, err
	}
	s.listElected()
	if s.metrics != nil {
		if err := s.metrics.Register(leaseCollector{s}); err != nil {
			return nil, err
		}
	}
	s.rebuilds = &rebuilds{s: s}
	if s.metrics != nil {
		if err := s.rebuilds.registerMetrics(s.metrics); err != nil {
			return nil, err
		}
	}
	if s.api, err = api.New(api.Config{
		Service: s.service, Status: s.status, Runner: readiness{s.runner, s.securityRunner}, Tokens: tokens, Logger: s.log.With("component", "http"),
		MaxBodyBytes: cfg.MaxBodyBytes, StatusWait: cfg.StatusWait,
		Security:     api.Security{Timeline: tline, History: s.historyReader(mfaKey), Throttles: s.throttles},
		Compliance:   &api.Compliance{DB: s.readDB, Policies: s.evidence.policies, Store: s.logStore, Clock: cfg.Clock, Evidence: s.witness.evidenceLog(), Disclose: s.personal},
		Metrics:      s.metrics,
		Rebuilds:     s.rebuilds,
		Transparency: s.witness.api(),
		Streams:      s.streamsAPI(),
		Nodes:        s,
		Storage:      s.storage,
	}); err != nil {
		return nil, err
	}
	if s.handler, err = s.newHandler(); err != nil {
		return nil, err
	}
	return s, nil
}

// newDetectors makes the detectors as configured, acting through the server's command side
// (also for a rebuild: a replayed detection acts under the command ID of the first time, so
// it writes nothing new).
func (s *Server) newDetectors() (*detectors.Detectors, error) {
	policy := domain.DefaultDetectorPolicy()
	if s.cfg.Detectors != nil {
		policy = *s.cfg.Detectors
	}
	return detectors.New(detectors.Config{Policy: policy, Clock: s.cfg.Clock, Logger: s.log.With("component", "detectors"),
		Actions: commands.DetectionActions{Service: func() *commands.Service { return s.service }, Throttles: s.throttles, Properties: commands.NewPropertyDetections(s.store, s.cfg.Clock)}})
}

// readiness is the main runner as the API uses it (read-your-writes waits on the status
// projection), except that it is caught up only once the security runner is too: until
// the detectors have read the log, a node would take sign-ins without the blocks and
// throttles the log already calls for.
type readiness struct {
	*projections.Runner
	security *projections.Runner
}

func (r readiness) CaughtUp(ctx context.Context) (bool, error) {
	if ok, err := r.Runner.CaughtUp(ctx); !ok || err != nil {
		return ok, err
	}
	return r.security.CaughtUp(ctx)
}

func (s *Server) key(given []byte, name string) ([]byte, error) {
	if len(given) > 0 {
		if len(given) != KeySize {
			return nil, fmt.Errorf("%s: want %d bytes, got %d", name, KeySize, len(given))
		}
		return given, nil
	}
	return loadOrCreateKey(filepath.Join(s.cfg.KeysDir, name), s.log)
}

// ParseHexKey reads a key given as 64 hex digits (ACCOUNTD_MFA_KEY, ACCOUNTD_LINK_KEY).
func ParseHexKey(text, name string) ([]byte, error) {
	key, err := hex.DecodeString(text)
	if err != nil || len(key) != KeySize {
		return nil, fmt.Errorf("%s: want %d hex digits", name, 2*KeySize)
	}
	return key, nil
}

// Handler is what the server serves: the HTTP API, and the console and the public pages
// of the mailed links unless they are switched off.
func (s *Server) Handler() http.Handler { return s.handler }

// API is the HTTP API with its route table.
func (s *Server) API() *api.API { return s.api }

// Service is the command side, for tools and tests in the same process.
func (s *Server) Service() *commands.Service { return s.service }

// Store is the event log.
func (s *Server) Store() eventstore.Store { return s.store }

// Outbox mails what the log says must be mailed.
func (s *Server) Outbox() *outbox.Outbox { return s.outbox }

// Runner feeds the read models.
func (s *Server) Runner() *projections.Runner { return s.runner }

// TokensFile is where the client tokens were read or generated ("" when they were given).
func (s *Server) TokensFile() string { return s.tokensFile }

// GeneratedTokens reports whether this start generated the tokens file.
func (s *Server) GeneratedTokens() bool { return s.generated }

// Start runs the background work: the projection runner and the outbox. Idempotent.
func (s *Server) Start(ctx context.Context) {
	s.startOnce.Do(func() {
		ctx, s.stop = context.WithCancel(ctx)
		s.background.Store(&ctx)
		s.run(ctx, "projections", s.runner)
		s.run(ctx, "security", s.securityRunner)
		// Singleton work runs while this node holds its lease (singleton.go).
		s.run(ctx, "node-heartbeat", heartbeat{s})
		if !s.cfg.DisableOutbox {
			s.runElected(ctx, WorkOutbox, s.outbox.Run)
		}
		if !s.cfg.DisableSweep {
			s.runElected(ctx, WorkSweep, sweeper{s}.Run)
		}
		s.run(ctx, "storage-probe", storageProbe{s: s, interval: s.cfg.StorageProbe})
		if s.streams != nil {
			for _, st := range s.streams.Streams() {
				s.runElected(ctx, WorkStreamPrefix+st.Name(), st.Run)
			}
		}
		if s.witness != nil {
			s.run(ctx, "transparency", s.witness)
		}
		if s.tokensFile != "" {
			s.run(ctx, "tokens-file", &tokensReloader{s: s})
		}
	})
}

// backgroundContext is the context background work runs under, once Start has run.
func (s *Server) backgroundContext() (context.Context, bool) {
	ctx := s.background.Load()
	if ctx == nil {
		return nil, false
	}
	return *ctx, true
}

// run keeps a worker going until ctx ends: a worker that fails is restarted on the log's
// restart schedule (eventlog.Supervise) rather than taking the API down with it.
func (s *Server) run(ctx context.Context, name string, w worker) {
	s.workers.Add(1)
	go func() {
		defer s.workers.Done()
		_ = eventlog.Supervise(ctx, s.log.With("component", "server"), name, nil, w.Run)
	}()
}

// ListenAndServe listens on the configured address and serves until ctx ends.
func (s *Server) ListenAndServe(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return errors.Join(err, s.Close())
	}
	return s.Serve(ctx, ln)
}

// Serve serves HTTP on ln until ctx ends, then shuts down in order: stop accepting and
// drain in-flight requests, stop the runner and the outbox, close the read models and the
// log. It closes the server whatever happens.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	defer s.Close()
	s.Start(context.WithoutCancel(ctx))
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	if err := writeServerURL(s.cfg.DataDir, ln.Addr()); err != nil {
		s.log.Warn("could not record the server's address for the tools", "error", err)
	}
	defer os.Remove(filepath.Join(s.cfg.DataDir, urlFile))
	s.log.Info("accountd serving", "addr", ln.Addr().String(), "data", s.cfg.DataDir, "public_url", s.cfg.PublicURL, "tokens_file", s.tokensFile)
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("http: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down: draining HTTP requests", "timeout", s.cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	if err != nil {
		err = errors.Join(fmt.Errorf("http shutdown: %w", err), hs.Close())
	}
	if serr := <-served; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// Close stops the background work and closes the read models and the event log. Safe to
// call more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		if s.stop != nil {
			s.stop()
		}
		s.workers.Wait()
		s.closeErr = s.closeResources()
		s.log.Info("accountd stopped")
	})
	return s.closeErr
}

func (s *Server) closeResources() error {
	var errs []error
	if s.readDB != nil {
		errs = append(errs, s.readDB.Close())
	}
	if s.securityDB != nil {
		errs = append(errs, s.securityDB.Close())
	}
	if s.streamsDB != nil {
		errs = append(errs, s.streamsDB.Close())
	}
	if s.store != nil {
		errs = append(errs, s.store.Close())
	}
	if s.snapshots != nil {
		errs = append(errs, s.snapshots.Close())
	}
	if s.unlock != nil {
		errs = append(errs, s.unlock())
	}
	return errors.Join(errs...)
}
