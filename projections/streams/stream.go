// Package streams sends the log, event by event and in log order, to the systems that watch
// logins: NATS JetStream, RabbitMQ and HTTP webhooks, on watermill. Each configured stream
// is a checkpointed consumer of the log, like a projection, except that its effect is
// outside: its checkpoint moves only once the destination has acknowledged, so delivery is
// at least once, and every envelope carries the event's ID so a re-send is recognisably the
// same event. Streams are never rebuilt with the read models: a replay happens only when an
// operator resets a stream to a position (Set.Reset), and it sends the same IDs again.
//
// The pieces are watermill's: each log event enters as a message and a handler turns it into
// its CloudEvents envelope (middleware.CorrelationID carries the request's correlation ID
// over, middleware.PoisonQueue records an event that cannot be encoded and moves on); a
// batch of envelopes is delivered by a message.Publisher under middleware.Retry with
// exponential backoff. After PauseAfter consecutive failed attempts the stream pauses (the
// server does not), probes its destination on the log readers' restart schedule, and
// resumes on its own.
package streams

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	json "github.com/goccy/go-json"

	"accountd/eventstore"
	"accountd/eventstore/eventlog"
)

// Defaults of a stream's delivery.
const (
	DefaultPauseAfter = 10
	DefaultBatch      = 512
	defaultMaxRetries = 3
	defaultRetryFirst = 200 * time.Millisecond
	defaultRetryMax   = 5 * time.Second
)

// Sentinel errors.
var (
	ErrUnknownStream = errors.New("streams: unknown stream")
	// ErrBeyondHead: a reset to a position the log has not reached.
	ErrBeyondHead = errors.New("streams: position beyond the log's head")
	// errPermanent marks an event that can never become an envelope: it goes to the poison
	// queue instead of being retried.
	errPermanent = errors.New("cannot be encoded")
)

// Metadata keys of envelope messages (NATS and AMQP headers).
const (
	typeKey        = "ce_type"
	correlationKey = middleware.CorrelationIDMetadataKey
)

// Config is one stream.
type Config struct {
	Name        string
	Destination Destination
	Filter      Filter
	// Secret signs webhook requests (required for webhooks, refused for the others).
	Secret []byte
	// PauseAfter is how many consecutive failed delivery attempts pause the stream.
	PauseAfter int
	// MaxRetries, RetryFirst and RetryMax shape middleware.Retry around each delivery.
	MaxRetries           int
	RetryFirst, RetryMax time.Duration
	// Batch is how many log events one delivery covers at most.
	Batch int
}

func (c Config) withDefaults() Config {
	if c.PauseAfter <= 0 {
		c.PauseAfter = DefaultPauseAfter
	}
	if c.MaxRetries <= 0 {
		c.MaxRetries = defaultMaxRetries
	}
	if c.RetryFirst <= 0 {
		c.RetryFirst = defaultRetryFirst
	}
	if c.RetryMax < c.RetryFirst {
		c.RetryMax = max(c.RetryFirst, defaultRetryMax)
	}
	if c.Batch <= 0 {
		c.Batch = DefaultBatch
	}
	return c
}

// Validate checks what can be checked without connecting.
func (c Config) Validate() error {
	if !streamName.MatchString(c.Name) {
		return fmt.Errorf("streams: name %q: want letters, digits, - and _ (at most 64)", c.Name)
	}
	switch {
	case c.Destination.Kind == KindWebhook && len(c.Secret) < 16:
		return fmt.Errorf("streams: %s: a webhook needs --stream-secret %s=SECRET of at least 16 bytes: receivers verify every request with it", c.Name, c.Name)
	case c.Destination.Kind != KindWebhook && len(c.Secret) > 0:
		return fmt.Errorf("streams: %s: only webhooks are signed; %s has no use for a secret", c.Name, c.Destination.Kind)
	case c.Destination.Kind == "":
		return fmt.Errorf("streams: %s: no destination", c.Name)
	}
	return nil
}

// Options are shared by every stream of a Set.
type Options struct {
	Store eventstore.Store
	// DB keeps the checkpoints and dead letters (its own file: streams are not read models).
	DB *sql.DB
	// Source is the CloudEvents source of every envelope: the server's public URL.
	Source string
	Logger *slog.Logger
	Clock  func() time.Time
	// Checkpoints, when set, are the log's signed checkpoints every stream carries too.
	Checkpoints SignedCheckpoints
	// Positions keeps the streams' checkpoints (nil: the stream_checkpoints table of DB).
	Positions Positions
}

// publisher is a destination: a watermill publisher that also says how many of a batch's
// first messages the destination acknowledged, so a failed delivery keeps what got through.
type publisher interface {
	message.Publisher
	PublishPrefix(msgs []*message.Message) (int, error)
}

// Stream is one destination following the log.
type Stream struct {
	set       *Set
	cfg       Config
	log       *slog.Logger
	accounts  *accountIndex
	transform message.HandlerFunc
	deliver   message.HandlerFunc
	open      func(ctx context.Context) (publisher, error)
	pub       publisher // used by the run goroutine only
	// checkpointSent is the size of the last signed checkpoint delivered (run goroutine).
	checkpointSent uint64

	mu          sync.Mutex
	position    uint64
	generation  uint64 // bumped by Reset: a delivery begun before it must not save
	changed     chan struct{}
	savedAt     time.Time // when the checkpoint was last written
	stopFollow  context.CancelFunc
	paused      bool
	pausedSince time.Time
	consecutive int
	lastError   string
	lastErrorAt time.Time

	published  atomic.Uint64
	failures   atomic.Uint64
	duplicates atomic.Uint64 // re-sends JetStream recognised by their ID and dropped
}

func newStream(set *Set, cfg Config, position uint64) (*Stream, error) {
	s := &Stream{set: set, cfg: cfg, log: set.log.With("stream", cfg.Name), accounts: newAccountIndex(set.store),
		position: position, changed: make(chan struct{})}
	switch cfg.Destination.Kind {
	case KindJetStream:
		s.open = func(ctx context.Context) (publisher, error) {
			return openJetStream(ctx, cfg.Name, cfg.Destination, &s.duplicates)
		}
	case KindAMQP:
		s.open = func(context.Context) (publisher, error) { return openAMQP(cfg.Destination) }
	case KindWebhook:
		s.open = func(context.Context) (publisher, error) {
			return newWebhook(cfg.Destination, cfg.Secret), nil
		}
	default:
		return nil, fmt.Errorf("streams: %s: unknown destination kind %q", cfg.Name, cfg.Destination.Kind)
	}
	poison, err := middleware.PoisonQueueWithFilter(set.dead, cfg.Name, func(err error) bool { return errors.Is(err, errPermanent) })
	if err != nil {
		return nil, err
	}
	s.transform = poison(decoded(middleware.CorrelationID(s.envelope)))
	s.deliver = middleware.Retry{
		MaxRetries: cfg.MaxRetries, InitialInterval: cfg.RetryFirst, MaxInterval: cfg.RetryMax,
		Multiplier: 2, RandomizationFactor: 0.2,
		// A paused stream probes with one attempt at a time, on the restart schedule.
		ShouldRetry: func(middleware.RetryParams) bool { return !s.Paused() },
	}.Middleware(s.publish)
	return s, nil
}

type recordKey struct{}
type decodedKey struct{}
type batchKey struct{}

func withRecord(ctx context.Context, rec eventstore.RecordedEvent) context.Context {
	return context.WithValue(ctx, recordKey{}, rec)
}

func recordFrom(ctx context.Context) (eventstore.RecordedEvent, bool) {
	rec, ok := ctx.Value(recordKey{}).(eventstore.RecordedEvent)
	return rec, ok
}

// decoded reads the log record a message stands for and gives the message the correlation
// ID of the request that caused it, for middleware.CorrelationID to pass on.
func decoded(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		rec, ok := recordFrom(msg.Context())
		if !ok {
			return nil, fmt.Errorf("streams: message %s without its log record", msg.UUID)
		}
		d, err := eventlog.Decode(rec)
		if err != nil {
			return nil, fmt.Errorf("%w: position %d: %v", errPermanent, rec.Position, err)
		}
		middleware.SetCorrelationID(correlationOf(d.Meta), msg)
		msg.SetContext(context.WithValue(msg.Context(), decodedKey{}, d))
		return h(msg)
	}
}

// envelope turns one decoded event into its envelope message, or into nothing when the
// stream's filter does not select it.
func (s *Stream) envelope(msg *message.Message) ([]*message.Message, error) {
	ctx := msg.Context()
	d := ctx.Value(decodedKey{}).(eventlog.Decoded)
	facts, err := envelopeFacts(ctx, s.accounts, d)
	if err != nil {
		return nil, err // the log could not be read: retried with the batch
	}
	if !s.cfg.Filter.selects(d.Recorded.Type, propertiesOf(d, facts)) {
		return nil, nil
	}
	env, err := newEnvelope(d, facts, s.set.source)
	if err != nil {
		return nil, fmt.Errorf("%w: position %d: %v", errPermanent, d.Recorded.Position, err)
	}
	body, err := json.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("%w: position %d: %v", errPermanent, d.Recorded.Position, err)
	}
	out := message.NewMessage(env.ID, body)
	out.Metadata.Set(typeKey, env.Type)
	return []*message.Message{out}, nil
}

// batch is one delivery: its envelopes and how many the destination has acknowledged, kept
// across middleware.Retry's attempts so a retry sends only the rest.
type batch struct {
	envs []*message.Message
	done int
}

// publish is the delivery handler under middleware.Retry: one attempt at the rest of the batch.
func (s *Stream) publish(msg *message.Message) ([]*message.Message, error) {
	b := msg.Context().Value(batchKey{}).(*batch)
	if s.pub == nil {
		pub, err := s.open(msg.Context())
		if err != nil {
			s.failed(err)
			return nil, err
		}
		s.pub = pub
	}
	rest := b.envs[b.done:]
	for _, m := range rest {
		m.SetContext(msg.Context())
	}
	n, err := s.pub.PublishPrefix(rest)
	b.done += n
	s.published.Add(uint64(n))
	if err != nil {
		// A fresh connection next time: a broker that lost its stream or channel gets them
		// declared again.
		s.closePublisher()
		s.failed(err)
		return nil, err
	}
	s.succeeded()
	return nil, nil
}

func (s *Stream) closePublisher() {
	if s.pub == nil {
		return
	}
	s.pub.Close()
	s.pub = nil
}

func (s *Stream) failed(err error) {
	s.failures.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.consecutive++
	s.lastError, s.lastErrorAt = err.Error(), s.set.clock()
	if !s.paused && s.consecutive >= s.cfg.PauseAfter {
		s.paused, s.pausedSince = true, s.set.clock()
		s.log.Warn("stream paused: its destination keeps failing; probing it until it answers", "destination", s.cfg.Destination.String(),
			"consecutive_failures", s.consecutive, "position", s.position, "error", err)
	}
}

func (s *Stream) succeeded() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.paused {
		s.log.Info("stream resumed", "destination", s.cfg.Destination.String(), "paused_for", s.set.clock().Sub(s.pausedSince).Round(time.Millisecond), "position", s.position)
	}
	s.paused, s.consecutive = false, 0
}

// Paused reports whether the stream has stopped retrying and only probes its destination.
func (s *Stream) Paused() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.paused
}

// Position is the last log position the stream is done with: every selected event up to it
// was acknowledged by the destination.
func (s *Stream) Position() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.position
}

// Name is the stream's configured name.
func (s *Stream) Name() string { return s.cfg.Name }

// WaitFor blocks until the stream is done with position, or ctx ends.
func (s *Stream) WaitFor(ctx context.Context, position uint64) error {
	for {
		s.mu.Lock()
		pos, changed := s.position, s.changed
		s.mu.Unlock()
		if pos >= position {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("streams: %s at %d, waiting for %d: %w", s.cfg.Name, pos, position, ctx.Err())
		case <-changed:
		}
	}
}

// run follows the log until ctx ends, on the consumer every reader of the log uses: a
// delivery that fails after middleware.Retry restarts from the checkpoint on the one restart
// schedule (eventlog.RestartInitial doubling to RestartMax), which is also how often a
// paused stream probes its destination. A reset ends the follow and starts it again from
// the new position at once.
func (s *Stream) run(ctx context.Context) {
	defer s.closePublisher()
	c := eventlog.Consumer{Name: "stream " + s.cfg.Name, Store: s.set.store, Batch: s.cfg.Batch,
		Checkpoint: s.Position, Handle: s.handle, Logger: s.log}
	for ctx.Err() == nil {
		fctx, stop := context.WithCancel(ctx)
		s.mu.Lock()
		s.stopFollow = stop
		s.mu.Unlock()
		c.Run(fctx) // until shutdown or a reset
		stop()
	}
}

// Run follows the log for this stream alone until ctx ends, from its checkpoint as
// Positions has it now: a node that takes the stream over from another goes on from where
// that one stopped. It returns ctx's error.
func (s *Stream) Run(ctx context.Context) error {
	pos, _, err := s.set.positions.Load(ctx, s.cfg.Name)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if pos != s.position {
		s.generation++ // a delivery begun under the old position must not save
		s.position = pos
		close(s.changed)
		s.changed = make(chan struct{})
	}
	s.mu.Unlock()
	s.run(ctx)
	return ctx.Err()
}

// handle turns a slice of the log into envelopes and delivers them.
func (s *Stream) handle(ctx context.Context, recs []eventstore.RecordedEvent) error {
	s.mu.Lock()
	gen, from := s.generation, s.position
	s.mu.Unlock()
	var envs []*message.Message
	var positions []uint64
	for _, rec := range recs {
		if rec.Position <= from {
			continue
		}
		in := message.NewMessage(rec.ID.String(), nil)
		in.SetContext(withRecord(ctx, rec))
		out, err := s.transform(in)
		if err != nil {
			return err
		}
		for _, m := range out {
			envs = append(envs, m)
			positions = append(positions, rec.Position)
		}
	}
	last := recs[len(recs)-1].Position
	if len(envs) == 0 {
		// Nothing to send: the filter passed over these events. Their progress is written at
		// most once a second; after a crash they are only filtered again.
		if err := s.skip(ctx, gen, last); err != nil {
			return err
		}
		s.sendCheckpoint(ctx)
		return nil
	}
	b := &batch{envs: envs}
	carrier := message.NewMessage(envs[0].UUID, nil)
	carrier.SetContext(context.WithValue(ctx, batchKey{}, b))
	_, err := s.deliver(carrier)
	if err == nil {
		if err := s.save(ctx, gen, last); err != nil {
			return err
		}
		s.sendCheckpoint(ctx)
		return nil
	}
	// Everything before the first envelope not acknowledged is done.
	if b.done < len(positions) && positions[b.done]-1 > from {
		done := positions[b.done] - 1
		if serr := s.save(context.WithoutCancel(ctx), gen, done); serr != nil {
			return errors.Join(err, serr)
		}
	}
	return err
}

// save records that the stream is done with pos: in its checkpoint, then in memory.
func (s *Stream) save(ctx context.Context, gen, pos uint64) error {
	return s.advance(ctx, gen, pos, true)
}

// skip is save for progress that sent nothing, written at most once a second.
func (s *Stream) skip(ctx context.Context, gen, pos uint64) error {
	return s.advance(ctx, gen, pos, time.Since(s.savedAt) >= time.Second)
}

func (s *Stream) advance(ctx context.Context, gen, pos uint64, persist bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if gen != s.generation || pos <= s.position {
		return nil
	}
	if persist {
		if err := s.set.positions.Save(ctx, s.cfg.Name, pos, s.cfg.Destination.String()); err != nil {
			return err
		}
		s.savedAt = time.Now()
	}
	s.position = pos
	close(s.changed)
	s.changed = make(chan struct{})
	return nil
}

// reset moves the stream so that the next event it sends is the one at position from.
func (s *Stream) reset(ctx context.Context, from uint64) error {
	pos := max(from, 1) - 1
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.set.positions.Reset(ctx, s.cfg.Name, pos, s.cfg.Destination.String()); err != nil {
		return err
	}
	s.generation++
	s.position = pos
	close(s.changed)
	s.changed = make(chan struct{})
	if s.stopFollow != nil {
		s.stopFollow()
	}
	s.log.Warn("stream reset: replaying from a position (the same event IDs are sent again)", "from", from)
	return nil
}

// Status is a stream as GET /v1/admin/streams shows it.
type Status struct {
	Name                string    `json:"name"`
	Kind                string    `json:"kind"`
	Destination         string    `json:"destination"`
	Filter              string    `json:"filter,omitempty"`
	Position            uint64    `json:"position"`
	Lag                 uint64    `json:"lag"`
	Published           uint64    `json:"published"`
	Failures            uint64    `json:"failures"`
	ConsecutiveFailures int       `json:"consecutive_failures"`
	Paused              bool      `json:"paused"`
	PausedSince         time.Time `json:"paused_since,omitzero"`
	LastError           string    `json:"last_error,omitempty"`
	LastErrorAt         time.Time `json:"last_error_at,omitzero"`
	DeadLetters         int       `json:"dead_letters"`
	// DuplicatesDropped counts re-sends JetStream recognised by their ID (since start).
	DuplicatesDropped uint64 `json:"duplicates_dropped"`
}

func (s *Stream) status(head uint64) Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Status{Name: s.cfg.Name, Kind: s.cfg.Destination.Kind, Destination: s.cfg.Destination.String(), Filter: s.cfg.Filter.String(),
		Position: s.position, Published: s.published.Load(), Failures: s.failures.Load(), ConsecutiveFailures: s.consecutive,
		Paused: s.paused, PausedSince: s.pausedSince, LastError: s.lastError, LastErrorAt: s.lastErrorAt, DuplicatesDropped: s.duplicates.Load()}
	if head > s.position {
		st.Lag = head - s.position
	}
	return st
}
