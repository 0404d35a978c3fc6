// Package outbox is accountd's mail outbox: it follows the log and e-mails what the log
// says must be e-mailed (activation, reset and unlock links; disable and re-enable notices;
// billing suspensions; suspicious-activity notices to primary contacts).
//
// The log is the truth and the outbox: nothing is queued anywhere else. Link mails are
// written from the log without the log holding a token: the event keeps the link's nonce,
// and the outbox, which holds the link key, derives the token again (credentials.LinkKey).
//
// Delivery is at least once, deduplicated by message ID (the causing event's ID), and the
// record of what was delivered is in the log itself (deliveries.go), not in readmodels.db:
//
//   - What became of each message is an event on the message's own stream, "mail-<ID>":
//     mail_sent.v1 once the mailer took it, mail_dead_lettered.v1 once it was given up,
//     appended with NoStream through Config.Recorder, so it is recorded once however many
//     nodes or replays try (a conflict means "already recorded": done). The record names
//     the message, its kind, the account and the causing event, never an address or link.
//   - outbox_deliveries folds those records, with its own checkpoint; before each batch it
//     is brought up to the log's head, and a message it knows is not sent again. Deleting
//     readmodels.db, or any replay from an older checkpoint, therefore sends nothing that
//     was sent: the fold reads the records back from the log first.
//   - The outbox's checkpoint (the "checkpoints" row "outbox") and its small address tables
//     are written in the same SQLite transactions, so a restart replays from a checkpoint
//     the tables agree with. (A mail event's own table change may commit just before its
//     mail is sent; every change is idempotent, so applying it again is harmless.)
//   - Order per message: send, append its record to the log, then (one local transaction)
//     fold the record and move the checkpoint past the event once each of its mails is
//     done. An append that fails is retried in place until it succeeds: a store outage
//     does not re-send. A crash after the send and before the append re-sends that one
//     message on restart, at most once per crash, with the same Message-ID header (derived
//     from the event ID) and, for the file mailer, into the same file. A crash after the
//     append re-sends nothing.
//   - Link mails are sent even when the link has expired by the time they are processed,
//     so a replay decides exactly as the first run did.
//   - A send that fails is retried with exponential backoff; after MaxAttempts failures the
//     message is dead-lettered: a mail_dead_lettered record in the log, its local details
//     (recipients, subject, full last error) in outbox_dead_letters, an error logged, and
//     the outbox moves on. Failures are counted in outbox_attempts, so a restart does not
//     reset the count. A mailer error that wraps ErrPermanent is dead-lettered at once.
//   - Mails are sent in log order: a failing mail holds back the ones after it until it is
//     sent or dead-lettered.
//   - Upgrade: the rows of the former outbox_sent table (and of outbox_dead_letters) that
//     the mail horizon (MaxAge) can still reach are recorded in the log once, at the first
//     batch, marked migrated; outbox_sent is then dropped (see migrate).
//
// Neither the log, the outbox's tables nor its log lines hold a token or a link; the log's
// records hold no address either (a dead letter's detail has its addresses replaced). A
// dead letter's local row keeps the message's recipients and subject and the event's
// position, from which the mail can be rebuilt. (The mail itself holds the link, of
// course: the file mailer's files are 0600.)
package outbox

import (
	"accountd/domain/messages"
	"accountd/eventstore/eventlog"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"accountd/domain"
	"accountd/domain/credentials"
	"accountd/eventstore"
	"accountd/projections"
)

// CheckpointName keys the outbox's row in the checkpoints table.
const CheckpointName = "outbox"

// Defaults.
const (
	DefaultMaxAttempts     = 8
	DefaultRetryBackoff    = time.Second
	DefaultRetryBackoffMax = time.Minute
	// DefaultMaxAge is how old an event may be and still be mailed about. Links live 24
	// hours (R2), so a link mail older than that is useless; a notice three days late is
	// still worth sending after a long outage, a year-old one is noise.
	DefaultMaxAge = 72 * time.Hour
	readBatch     = 256
)

// Config wires an outbox.
type Config struct {
	Store eventstore.Store
	// DB is the read-model database (projections.OpenDB); the outbox keeps its checkpoint
	// and its outbox_* tables there.
	DB *sql.DB
	// Links derives link tokens from the nonces the log keeps: the same key as the
	// command service's.
	Links  *credentials.LinkKey
	Mailer Mailer
	// Recorder appends the outbox's delivery records (mail_sent.v1, mail_dead_lettered.v1)
	// to the log: the server passes its event store. Default: Store.
	Recorder Recorder
	// PublicURL is the base of links: PublicURL + "/activate?token=...",
	// "/reset-password?token=..." or "/unlock?token=...".
	PublicURL string
	// From is the sender of every mail, e.g. "Hotel Login <no-reply@login.hotel.example>".
	From   string
	Logger *slog.Logger
	// MaxAttempts is how many failed sends a message gets before it is dead-lettered
	// (default 8).
	MaxAttempts int
	// Clock stamps sent_at, attempts and dead letters and judges MaxAge (default time.Now).
	Clock func() time.Time
	// MaxAge bounds how old (in domain time) an event may be for its mail to be sent
	// (0: DefaultMaxAge; negative: no bound). An outbox starting without a checkpoint, on a
	// new node of a shared log or a node restored without its read models, would otherwise
	// send every mail the log ever called for; older mail is skipped and counted instead.
	MaxAge time.Duration
	// RetryBackoff is the wait after a first failed send, doubled after each further
	// failure up to RetryBackoffMax (defaults 1 s and 1 min: eight attempts span about two
	// minutes).
	RetryBackoff    time.Duration
	RetryBackoffMax time.Duration
	// Shared, when set, is how far mail has gone out in the store the nodes of a shared log
	// share (nil: one node; the local checkpoint says it all).
	Shared SharedCheckpoint
}

// SharedCheckpoint is the outbox's position in the store several nodes share, written by
// whichever node holds the outbox's lease. The local checkpoint (with the address tables)
// still says how far this node's tables are; the shared one says how far mail has gone out,
// from any node: an event at or before it is applied to the tables and not mailed, so a
// node that takes the outbox over, or one restored from an old backup, does not resend.
type SharedCheckpoint interface {
	Load(ctx context.Context) (uint64, error)
	// Save moves the shared position; it fails once this node no longer holds the outbox
	// (the fencing token its ctx carries is stale).
	Save(ctx context.Context, pos uint64) error
}

// DeadLetter is a message given up on.
type DeadLetter struct {
	ID        string // the message ID
	Position  uint64 // the log position of the event that caused it
	EventType string
	Kind      string // empty when the event could not be read
	AccountID string
	To        []string
	Subject   string
	Attempts  int // failed sends; 0 when the message could not even be written
	// Reason is the log's reason code (domain.MailRejected...).
	Reason string
	// LastError is the mailer's last error as this node saw it; after the read models were
	// lost, the log's copy, whose addresses are replaced.
	LastError string
	At        time.Time
}

// Outbox follows the log and sends mail.
type Outbox struct {
	cfg       Config
	log       *slog.Logger
	publicURL string
	pos       atomic.Uint64
	mu        sync.Mutex // one batch at a time, whoever calls
	stale     atomic.Uint64
	conflicts atomic.Uint64
	appended  atomic.Uint64 // delivery records this outbox appended
	dl        *deliveries
	migrated  bool // under mu
}

// Conflicts counts the messages whose record another node (or an earlier run) had already
// appended when this outbox tried to: each such message may have been sent twice.
func (o *Outbox) Conflicts() uint64 { return o.conflicts.Load() }

// Stale counts the mails skipped since start because their event was older than MaxAge.
func (o *Outbox) Stale() uint64 { return o.stale.Load() }

// New prepares the outbox's tables and reads its checkpoint.
func New(ctx context.Context, cfg Config) (*Outbox, error) {
	if cfg.Store == nil || cfg.DB == nil || cfg.Links == nil || cfg.Mailer == nil {
		return nil, errors.New("outbox: store, DB, link key and mailer are required")
	}
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("outbox: PublicURL %q is not an http(s) base URL", cfg.PublicURL)
	}
	if _, err := parseAddress(cfg.From); err != nil {
		return nil, fmt.Errorf("outbox: From: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Recorder == nil {
		cfg.Recorder = cfg.Store
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.RetryBackoff <= 0 {
		cfg.RetryBackoff = DefaultRetryBackoff
	}
	if cfg.MaxAge == 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.RetryBackoffMax < cfg.RetryBackoff {
		cfg.RetryBackoffMax = max(cfg.RetryBackoff, DefaultRetryBackoffMax)
	}
	o := &Outbox{cfg: cfg, log: cfg.Logger.With("component", "outbox"), publicURL: strings.TrimRight(cfg.PublicURL, "/")}
	for _, stmt := range schema {
		if _, err := cfg.DB.ExecContext(ctx, stmt); err != nil {
			return nil, fmt.Errorf("outbox: schema: %w", err)
		}
	}
	var pos uint64
	err = cfg.DB.QueryRowContext(ctx, `SELECT position FROM checkpoints WHERE name = ?`, CheckpointName).Scan(&pos)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("outbox: checkpoint: %w", err)
	}
	o.pos.Store(pos)
	o.dl = &deliveries{store: cfg.Store, db: cfg.DB, log: o.log}
	var dpos uint64
	err = cfg.DB.QueryRowContext(ctx, `SELECT position FROM checkpoints WHERE name = ?`, DeliveriesCheckpointName).Scan(&dpos)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("outbox: deliveries checkpoint: %w", err)
	}
	o.dl.pos.Store(dpos)
	return o, nil
}

// Delivered answers from the log's records what became of a message: found is false while
// the message is neither sent nor dead-lettered (as far as the fold has read the log).
func (o *Outbox) Delivered(ctx context.Context, messageID string) (d Delivery, found bool, err error) {
	return lookupDelivery(ctx, o.cfg.DB, messageID)
}

// Position is the last log position the outbox has finished with.
func (o *Outbox) Position() uint64 { return o.pos.Load() }

// consumer follows the log for the outbox from its checkpoint.
func (o *Outbox) consumer() *eventlog.Consumer {
	return &eventlog.Consumer{Name: "outbox", Store: o.cfg.Store, Batch: readBatch, Logger: o.log, Checkpoint: o.Position, Handle: o.process}
}

// Run follows the log until ctx ends, and returns ctx's error. A batch that fails (a
// database error) is retried from the checkpoint on the log's restart schedule; failed
// sends are retried inside the batch (see the package comment).
func (o *Outbox) Run(ctx context.Context) error { return o.consumer().Run(ctx) }

// CatchUp processes every event up to the log's head as it is when called, then the
// delivery records it appended (or met) meanwhile, and whatever mail those rounds cause, so it
// returns with its checkpoint at the head when no one else writes.
func (o *Outbox) CatchUp(ctx context.Context) error {
	records := func() uint64 { return o.appended.Load() + o.conflicts.Load() }
	for {
		before := records()
		if err := o.consumer().CatchUpToHead(ctx); err != nil {
			return err
		}
		if records() == before {
			return nil
		}
	}
}

// DeadLetters lists the messages given up on, oldest first: every dead letter the log
// records (as far as the fold has read it), with the recipients, subject and full last
// error this node kept locally when it dead-lettered the message itself.
func (o *Outbox) DeadLetters(ctx context.Context) ([]DeadLetter, error) {
	rows, err := o.cfg.DB.QueryContext(ctx, `SELECT d.message_id, d.event_position, d.event_type, d.kind, d.account_id,
			COALESCE(l.recipients, '[]'), COALESCE(l.subject, ''), d.attempts, d.reason, COALESCE(l.last_error, d.detail), d.recorded_at
		FROM outbox_deliveries d LEFT JOIN outbox_dead_letters l ON l.id = d.message_id
		WHERE d.outcome = ? ORDER BY d.event_position, d.message_id`, OutcomeDeadLettered)
	if err != nil {
		return nil, fmt.Errorf("outbox: dead letters: %w", err)
	}
	defer rows.Close()
	var out []DeadLetter
	for rows.Next() {
		var d DeadLetter
		var to, at string
		if err := rows.Scan(&d.ID, &d.Position, &d.EventType, &d.Kind, &d.AccountID, &to, &d.Subject, &d.Attempts, &d.Reason, &d.LastError, &at); err != nil {
			return nil, fmt.Errorf("outbox: dead letters: %w", err)
		}
		if err := json.Unmarshal([]byte(to), &d.To); err != nil {
			return nil, fmt.Errorf("outbox: dead letter %s: %w", d.ID, err)
		}
		d.At, _ = time.Parse(time.RFC3339Nano, at)
		out = append(out, d)
	}
	return out, rows.Err()
}

// mailTypes are the events that may cause mail; stateTypes only update the address tables.
// Every other event is passed over without being decoded.
var (
	mailTypes = map[string]bool{
		domain.ActivationLinkIssued{}.EventType():       true,
		domain.PasswordResetRequested{}.EventType():     true,
		domain.UnlockLinkIssued{}.EventType():           true,
		domain.AccountDisabled{}.EventType():            true,
		domain.AccountEnabled{}.EventType():             true,
		domain.PropertyAccessSuspended{}.EventType():    true,
		domain.SuspiciousActivityDetected{}.EventType(): true,
	}
	stateTypes = map[string]bool{
		domain.AccountRegistered{}.EventType():      true,
		domain.LinkedToProperty{}.EventType():       true,
		domain.UnlinkedFromProperty{}.EventType():   true,
		domain.PasswordChangeRequired{}.EventType(): true,
		domain.PasswordChanged{}.EventType():        true,
		domain.PropertyCreated{}.EventType():        true,
		domain.BillingContactAdded{}.EventType():    true,
		domain.AccountErased{}.EventType():          true,
	}
)

// pending is the open transaction of a batch: state changes and the checkpoint to commit.
type pending struct {
	o   *Outbox
	tx  *sql.Tx
	pos uint64 // the position the checkpoint moves to at the next commit
}

func (p *pending) begin(ctx context.Context) (*sql.Tx, error) {
	if p.tx == nil {
		// Short local transactions, not interrupted once begun: see
		// projections.Runner.applyDecoded. Sending mail still heeds ctx.
		tx, err := p.o.cfg.DB.BeginTx(context.WithoutCancel(ctx), nil)
		if err != nil {
			return nil, fmt.Errorf("outbox: begin: %w", err)
		}
		p.tx = tx
	}
	return p.tx, nil
}

// commit writes the checkpoint with the pending state changes.
func (p *pending) commit(ctx context.Context) error {
	if p.tx == nil && p.pos <= p.o.Position() {
		return nil
	}
	tx, err := p.begin(ctx)
	if err != nil {
		return err
	}
	p.tx = nil
	defer tx.Rollback()
	if p.pos > p.o.Position() {
		if err := saveCheckpoint(context.WithoutCancel(ctx), tx, p.pos); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("outbox: commit: %w", err)
	}
	if p.pos > p.o.Position() {
		p.o.pos.Store(p.pos)
	}
	return nil
}

func (p *pending) rollback() {
	if p.tx != nil {
		p.tx.Rollback()
		p.tx = nil
	}
}

// process handles events in log order. It holds no transaction while sending.
func (o *Outbox) process(ctx context.Context, recs []eventstore.RecordedEvent) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	// Every record the log holds now is folded before anything is sent: a replay from an
	// older checkpoint meets the events that caused mail before their records.
	if err := o.dl.catchUp(ctx); err != nil {
		return err
	}
	if !o.migrated {
		if err := o.migrate(ctx); err != nil {
			return err
		}
		o.migrated = true
	}
	p := &pending{o: o, pos: o.Position()}
	defer p.rollback()
	forgot := false   // an erasure was applied: the WAL is emptied after the last commit
	var mailed uint64 // how far mail has gone out from any node (Shared)
	if o.cfg.Shared != nil {
		var err error
		if mailed, err = o.cfg.Shared.Load(ctx); err != nil {
			return fmt.Errorf("outbox: shared checkpoint: %w", err)
		}
	}
	for _, rec := range recs {
		if rec.Position <= p.pos {
			continue // already done: overlapping reads are harmless
		}
		if !mailTypes[rec.Type] && !stateTypes[rec.Type] {
			p.pos = rec.Position
			continue
		}
		d, err := eventlog.Decode(rec)
		if err != nil {
			// Undecodable: retrying cannot help. Record it and move on.
			if err := p.commit(ctx); err != nil {
				return err
			}
			dl := DeadLetter{ID: rec.ID.String(), Reason: domain.MailUndecodable, LastError: err.Error()}
			if err := o.record(ctx, rec, domain.Metadata{}, []outcome{{dead: true, dl: dl}}, true); err != nil {
				return err
			}
			p.pos = rec.Position
			continue
		}
		tx, err := p.begin(ctx)
		if err != nil {
			return err
		}
		if _, erased := d.Event.Data.(domain.AccountErased); erased {
			forgot = true
			if err := o.forgetAccount(ctx, tx, strings.TrimPrefix(rec.Stream, "account-")); err != nil {
				return fmt.Errorf("outbox: position %d: %w", rec.Position, err)
			}
		}
		if err := applyState(context.WithoutCancel(ctx), tx, d); err != nil {
			return fmt.Errorf("outbox: position %d: %w", rec.Position, err)
		}
		if !mailTypes[rec.Type] {
			p.pos = rec.Position
			continue
		}
		msgs, err := o.compose(ctx, tx, d)
		var poison *poisonError
		switch {
		case errors.As(err, &poison):
			if err := p.commit(ctx); err != nil {
				return err
			}
			if err := o.record(ctx, rec, d.Meta, []outcome{{dead: true, dl: poison.letter(rec)}}, true); err != nil {
				return err
			}
			p.pos = rec.Position
			continue
		case err != nil:
			return fmt.Errorf("outbox: position %d: %w", rec.Position, err)
		}
		msgs, err = undelivered(ctx, tx, msgs)
		if err != nil {
			return err
		}
		if rec.Position <= mailed {
			msgs = nil // mailed by the node that held the outbox before
		}
		if len(msgs) > 0 {
			if msgs, err = o.withoutErased(ctx, rec, msgs); err != nil {
				return err
			}
		}
		if len(msgs) > 0 && o.cfg.MaxAge > 0 && o.cfg.Clock().Sub(d.Event.At) > o.cfg.MaxAge {
			if o.stale.Add(uint64(len(msgs))) == uint64(len(msgs)) {
				o.log.Warn("outbox: skipping mail for events older than the mail horizon (a new or restored node does not mail the past); further skips are counted, not logged",
					"position", rec.Position, "event_at", d.Event.At, "max_age", o.cfg.MaxAge)
			}
			msgs = nil
		}
		if len(msgs) == 0 {
			p.pos = rec.Position
			continue
		}
		// This event's own state change commits now (with the checkpoint still before it);
		// applying it again on a replay is harmless.
		if err := p.commit(ctx); err != nil {
			return err
		}
		for i, m := range msgs {
			out, err := o.deliver(ctx, rec, m)
			if err != nil {
				return err
			}
			// Each message is recorded as soon as it is done; the last one moves the
			// checkpoint past the event.
			if err := o.record(ctx, rec, d.Meta, []outcome{out}, i == len(msgs)-1); err != nil {
				return err
			}
		}
		p.pos = rec.Position
	}
	if err := p.commit(ctx); err != nil {
		return err
	}
	if forgot {
		if err := projections.ForgetWAL(ctx, o.cfg.DB); err != nil {
			o.log.Warn("outbox: the WAL keeps pages from before an erasure until the next checkpoint", "error", err)
		}
	}
	if o.cfg.Shared != nil && o.Position() > mailed {
		if err := o.cfg.Shared.Save(ctx, o.Position()); err != nil {
			return fmt.Errorf("outbox: shared checkpoint: %w", err)
		}
	}
	return nil
}

// outcome is what became of one message.
type outcome struct {
	m     Message
	dead  bool
	dl    DeadLetter
	tries int // sends it took, the successful one included
}

// record writes what became of messages of an event: first each one's record in the log
// (once: a message the log already records keeps that record), then, in one local
// transaction, the fold of those records, a dead letter's local details, and, when done is
// set, the checkpoint past the event.
func (o *Outbox) record(ctx context.Context, rec eventstore.RecordedEvent, meta domain.Metadata, outs []outcome, done bool) error {
	now := o.cfg.Clock().UTC().Format(time.RFC3339Nano)
	type recorded struct {
		out   outcome
		d     Delivery
		fresh bool // recorded in the log by this call
	}
	var rs []recorded
	for _, out := range outs {
		id := out.m.ID
		if out.dead {
			id = out.dl.ID
		}
		if d, found, err := lookupDelivery(ctx, o.cfg.DB, id); err != nil {
			return err
		} else if found {
			rs = append(rs, recorded{out: out, d: d}) // dead-lettered before this replay
			continue
		}
		var payload domain.Payload
		if out.dead {
			dl := out.dl
			payload = domain.MailDeadLettered{MessageID: id, Kind: dl.Kind, AccountID: dl.AccountID, CauseID: rec.ID.String(),
				CausePosition: rec.Position, CauseType: rec.Type, Attempts: dl.Attempts, Reason: dl.Reason, Detail: redactDetail(dl.LastError)}
		} else {
			payload = domain.MailSent{MessageID: id, Kind: out.m.Kind, AccountID: out.m.AccountID, CauseID: rec.ID.String(),
				CausePosition: rec.Position, Attempts: out.tries}
		}
		d, won, err := o.recordInLog(ctx, rec.ID.String(), meta.CorrelationID, payload, id, o.cfg.Clock())
		if err != nil {
			return err
		}
		rs = append(rs, recorded{out: out, d: d, fresh: won})
	}

	tx, err := o.cfg.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("outbox: begin: %w", err)
	}
	defer tx.Rollback()
	for _, r := range rs {
		if err := insertDelivery(ctx, tx, r.d); err != nil {
			return err
		}
		id := r.d.MessageID
		if r.out.dead && r.d.Outcome == OutcomeDeadLettered {
			dl := r.out.dl
			to, _ := json.Marshal(nonNil(dl.To))
			res, err := tx.ExecContext(ctx, `INSERT INTO outbox_dead_letters(id, position, event_type, kind, account_id, recipients, subject, attempts, last_error, dead_at)
				VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING`,
				id, rec.Position, rec.Type, dl.Kind, dl.AccountID, string(to), dl.Subject, dl.Attempts, dl.LastError, now)
			if err != nil {
				return fmt.Errorf("outbox: dead letter: %w", err)
			}
			if n, _ := res.RowsAffected(); n > 0 && r.fresh {
				o.log.Error("outbox: message dead-lettered; it will not be retried",
					"message_id", id, "kind", dl.Kind, "account_id", dl.AccountID, "position", rec.Position,
					"event_type", rec.Type, "reason", dl.Reason, "attempts", dl.Attempts, "error", dl.LastError)
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM outbox_attempts WHERE id = ?`, id); err != nil {
			return fmt.Errorf("outbox: attempts: %w", err)
		}
	}
	if done {
		if err := saveCheckpoint(ctx, tx, rec.Position); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("outbox: commit: %w", err)
	}
	if done {
		o.pos.Store(rec.Position)
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// deliver sends one message, retrying with backoff, until it is sent (dead false), has
// failed MaxAttempts times in all, or has failed with ErrPermanent (dead true). Only a
// cancelled ctx or a database error is returned as an error; a cancelled send does not
// count as an attempt.
func (o *Outbox) deliver(ctx context.Context, rec eventstore.RecordedEvent, m Message) (outcome, error) {
	attempts, err := o.attempts(ctx, m.ID)
	if err != nil {
		return outcome{}, err
	}
	var lastErr string
	for {
		if attempts >= o.cfg.MaxAttempts {
			if lastErr == "" {
				lastErr, err = o.lastError(ctx, m.ID)
				if err != nil {
					return outcome{}, err
				}
			}
			return outcome{m: m, dead: true, dl: DeadLetter{
				ID: m.ID, Kind: m.Kind, AccountID: m.AccountID, To: m.To, Subject: m.Subject, Attempts: attempts,
				Reason: domain.MailAttemptsExhausted, LastError: lastErr,
			}}, nil
		}
		sendErr := o.cfg.Mailer.Send(ctx, m)
		if sendErr == nil {
			o.log.Info("outbox: mail sent", "message_id", m.ID, "kind", m.Kind, "account_id", m.AccountID,
				"recipients", len(m.To), "position", rec.Position)
			return outcome{m: m, tries: attempts + 1}, nil
		}
		if err := ctx.Err(); err != nil {
			return outcome{}, err
		}
		attempts++
		lastErr = sendErr.Error()
		if err := o.recordAttempt(ctx, m.ID, attempts, lastErr); err != nil {
			return outcome{}, err
		}
		if errors.Is(sendErr, ErrPermanent) {
			// Retrying cannot help (a 5xx reply, a message that cannot be written).
			return outcome{m: m, dead: true, dl: DeadLetter{
				ID: m.ID, Kind: m.Kind, AccountID: m.AccountID, To: m.To, Subject: m.Subject, Attempts: attempts,
				Reason: domain.MailRejected, LastError: lastErr,
			}}, nil
		}
		if attempts >= o.cfg.MaxAttempts {
			continue
		}
		wait := o.backoff(attempts)
		o.log.Warn("outbox: send failed; retrying", "message_id", m.ID, "kind", m.Kind, "attempt", attempts,
			"max_attempts", o.cfg.MaxAttempts, "retry_in", wait, "error", sendErr)
		if err := sleep(ctx, wait); err != nil {
			return outcome{}, err
		}
	}
}

// backoff is the wait after the n-th failure: RetryBackoff * 2^(n-1), capped.
func (o *Outbox) backoff(n int) time.Duration {
	d := o.cfg.RetryBackoff
	for i := 1; i < n && d < o.cfg.RetryBackoffMax; i++ {
		d *= 2
	}
	return min(d, o.cfg.RetryBackoffMax)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (o *Outbox) attempts(ctx context.Context, id string) (int, error) {
	var n int
	err := o.cfg.DB.QueryRowContext(ctx, `SELECT attempts FROM outbox_attempts WHERE id = ?`, id).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("outbox: attempts: %w", err)
	}
	return n, nil
}

func (o *Outbox) lastError(ctx context.Context, id string) (string, error) {
	var s string
	err := o.cfg.DB.QueryRowContext(ctx, `SELECT last_error FROM outbox_attempts WHERE id = ?`, id).Scan(&s)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("outbox: attempts: %w", err)
	}
	return s, nil
}

func (o *Outbox) recordAttempt(ctx context.Context, id string, n int, lastErr string) error {
	_, err := o.cfg.DB.ExecContext(ctx, `INSERT INTO outbox_attempts(id, attempts, last_error, last_attempt_at) VALUES(?, ?, ?, ?)
		ON CONFLICT(id) DO UPDATE SET attempts = excluded.attempts, last_error = excluded.last_error, last_attempt_at = excluded.last_attempt_at`,
		id, n, lastErr, o.cfg.Clock().UTC().Format(time.RFC3339Nano))
	if err != nil {
		return fmt.Errorf("outbox: record attempt: %w", err)
	}
	return nil
}

// undelivered drops the messages the log already records as sent or dead-lettered.
func undelivered(ctx context.Context, tx *sql.Tx, msgs []Message) ([]Message, error) {
	out := msgs[:0:0]
	for _, m := range msgs {
		_, found, err := lookupDelivery(ctx, tx, m.ID)
		if err != nil {
			return nil, err
		}
		if !found {
			out = append(out, m)
		}
	}
	return out, nil
}

// poisonError is an event the outbox cannot turn into mail, ever (no address on record, no
// nonce, a stream it cannot place): dead-lettered at once.
type poisonError struct {
	kind, accountID, reason string
}

func (e *poisonError) Error() string { return e.reason }

func (e *poisonError) letter(rec eventstore.RecordedEvent) DeadLetter {
	return DeadLetter{ID: rec.ID.String(), Kind: e.kind, AccountID: e.accountID, Reason: domain.MailUndeliverable, LastError: e.reason}
}

// compose turns a mail event into its messages (none when no mail is due), reading the
// address tables inside tx, which already holds the event's own state change.
func (o *Outbox) compose(ctx context.Context, tx *sql.Tx, d eventlog.Decoded) ([]Message, error) {
	rec := d.Recorded
	base := Message{ID: rec.ID.String(), CreatedAt: d.Event.At.UTC(), From: o.cfg.From}
	switch e := d.Event.Data.(type) {
	case domain.ActivationLinkIssued:
		return o.linkMail(ctx, tx, base, rec, KindActivation, "/activate", e.Nonce, e.ExpiresAt, activationMail)
	case domain.PasswordResetRequested:
		return o.linkMail(ctx, tx, base, rec, KindPasswordReset, "/reset-password", e.Nonce, e.ExpiresAt, resetMail)
	case domain.UnlockLinkIssued:
		return o.linkMail(ctx, tx, base, rec, KindUnlock, "/unlock", e.Nonce, e.ExpiresAt, unlockMail)

	case domain.AccountDisabled:
		base.Kind = KindAccountDisabled
		acc, err := accountOf(ctx, tx, rec, base.Kind)
		if err != nil {
			return nil, err
		}
		return withMail(base, acc.id, []string{acc.email}, disabledMail(acc.email, e))

	case domain.AccountEnabled:
		base.Kind = KindAccountEnabled
		acc, err := accountOf(ctx, tx, rec, base.Kind)
		if err != nil {
			return nil, err
		}
		var remaining int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM outbox_disables WHERE account_id = ?`, acc.id).Scan(&remaining); err != nil {
			return nil, err
		}
		if remaining > 0 {
			return nil, nil // still disabled for another reason: nothing to announce yet
		}
		return withMail(base, acc.id, []string{acc.email}, enabledMail(acc.email, acc.mustChangePassword))

	case domain.PropertyAccessSuspended:
		base.Kind = KindBillingSuspended
		id, ok := strings.CutPrefix(rec.Stream, "property-")
		if !ok {
			return nil, &poisonError{kind: base.Kind, reason: "billing suspension on stream " + rec.Stream + ", not a property stream"}
		}
		prop, found, err := propertyOf(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		to, asPrimary := prop.billing, false
		if len(to) == 0 && prop.primary != "" {
			to, asPrimary = []string{prop.primary}, true
		}
		if !found || len(to) == 0 {
			o.log.Warn("outbox: billing suspension with no one to tell", "property_id", id, "position", rec.Position)
			return nil, nil
		}
		return withMail(base, "", to, billingMail(prop.displayName(), e.OverdueInvoices, asPrimary))

	case domain.SuspiciousActivityDetected:
		if e.Action != "account_disabled" {
			return nil, nil // recorded for review only: nobody is notified
		}
		base.Kind = KindSuspiciousActivity
		acc, err := accountOf(ctx, tx, rec, base.Kind)
		if err != nil {
			return nil, err
		}
		props, err := propertiesOfAccount(ctx, tx, acc.id)
		if err != nil {
			return nil, err
		}
		// One message per property: a staff member of two hotels must not show one hotel's
		// contact address to the other.
		var out []Message
		for _, prop := range props {
			if prop.primary == "" {
				continue
			}
			m, err := withMail(base, acc.id, []string{prop.primary}, suspiciousMail(prop.displayName(), acc.email, e))
			if err != nil {
				return nil, err
			}
			m[0].ID = propertyMessageID(base.ID, prop.id)
			out = append(out, m...)
		}
		if len(out) == 0 {
			o.log.Warn("outbox: suspicious activity on an account with no property primary contact to notify",
				"account_id", acc.id, "position", rec.Position)
		}
		return out, nil
	}
	return nil, nil
}

// forgetAccount takes back what the outbox keeps of an erased account beyond its address
// row (applyState erases that): the files its mailer wrote for the account's messages
// (FileMailer; an SMTP server's copies are out of reach) and its address in its dead
// letters' local details. Both are idempotent, so a replay of the erasure finds nothing left to do.
func (o *Outbox) forgetAccount(ctx context.Context, tx *sql.Tx, accountID string) error {
	var email string
	err := tx.QueryRowContext(ctx, `SELECT email FROM outbox_accounts WHERE account_id = ?`, accountID).Scan(&email)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if email != "" && !domain.IsErased(email) {
		quoted, _ := json.Marshal(email) // recipients is a JSON array of addresses
		erased, _ := json.Marshal(domain.Erased)
		if _, err := tx.ExecContext(ctx, `UPDATE outbox_dead_letters SET recipients = replace(recipients, ?, ?),
			subject = replace(subject, ?, ?), last_error = replace(last_error, ?, ?) WHERE account_id = ?`,
			string(quoted), string(erased), email, domain.Erased, email, domain.Erased, accountID); err != nil {
			return err
		}
		// A failed attempt's error (an SMTP reply) may quote the address; the rows are by
		// message, not account.
		if _, err := tx.ExecContext(ctx, `UPDATE outbox_attempts SET last_error = replace(last_error, ?, ?) WHERE instr(last_error, ?) > 0`,
			email, domain.Erased, email); err != nil {
			return err
		}
	}
	f, ok := o.cfg.Mailer.(Forgetter)
	if !ok {
		return nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT message_id FROM outbox_deliveries WHERE account_id = ?`, accountID)
	if err != nil {
		return err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	n, err := f.Forget(ctx, ids)
	if err != nil {
		return fmt.Errorf("remove the mail of erased account %s: %w", accountID, err)
	}
	if n > 0 {
		o.log.Info("outbox: removed the mail files of an erased account", "account_id", accountID, "files", n)
	}
	return nil
}

// withoutErased drops the messages of an event whose account was erased after it: an
// outbox that lags (a restart, a slow mailer) meets the mail events before the erasure and
// still has the address, which must not be used any more. Mail events are rare, and the
// account's stream is read only from the event on.
func (o *Outbox) withoutErased(ctx context.Context, rec eventstore.RecordedEvent, msgs []Message) ([]Message, error) {
	if !strings.HasPrefix(rec.Stream, "account-") {
		return msgs, nil
	}
	const page = 512
	for from := rec.Revision + 1; ; {
		later, err := o.cfg.Store.ReadStream(ctx, rec.Stream, from, page)
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			return msgs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("outbox: read %s: %w", rec.Stream, err)
		}
		for _, r := range later {
			if r.Type == (domain.AccountErased{}).EventType() {
				o.log.Info("outbox: not sending mail of an erased account", "account_id", strings.TrimPrefix(rec.Stream, "account-"), "position", rec.Position, "messages", len(msgs))
				return nil, nil
			}
		}
		if len(later) < page {
			return msgs, nil
		}
		from = later[len(later)-1].Revision + 1
	}
}

// propertyMessageID names the message of one property for an event that notifies several.
func propertyMessageID(eventID, propertyID string) string {
	sum := sha256.Sum256([]byte(propertyID))
	return eventID + "-" + hex.EncodeToString(sum[:4])
}

// withMail is the message of m's event to the given addresses, worded by d's template.
func withMail(m Message, accountID string, to []string, d messages.MailData) ([]Message, error) {
	mail, err := messages.RenderMail(d)
	if err != nil {
		return nil, err
	}
	m.AccountID, m.To, m.Subject, m.Text = accountID, to, mail.Subject, mail.Text
	return []Message{m}, nil
}

func (o *Outbox) linkMail(ctx context.Context, tx *sql.Tx, base Message, rec eventstore.RecordedEvent, kind, path, nonce string, expires time.Time,
	write func(email, link string, issued, expires time.Time) messages.MailData) ([]Message, error) {
	base.Kind = kind
	acc, err := accountOf(ctx, tx, rec, kind)
	if err != nil {
		return nil, err
	}
	if nonce == "" {
		return nil, &poisonError{kind: kind, accountID: acc.id, reason: "link event without a nonce: the token cannot be derived"}
	}
	token := o.cfg.Links.Token(acc.id, nonce)
	base.Link = o.publicURL + path + "?token=" + url.QueryEscape(token)
	return withMail(base, acc.id, []string{acc.email}, write(acc.email, base.Link, base.CreatedAt, expires))
}

type accountRow struct {
	id, email          string
	mustChangePassword bool
}

// accountOf is the account of an account-stream event, with its address.
func accountOf(ctx context.Context, tx *sql.Tx, rec eventstore.RecordedEvent, kind string) (accountRow, error) {
	id, ok := strings.CutPrefix(rec.Stream, "account-")
	if !ok || id == "" {
		return accountRow{}, &poisonError{kind: kind, reason: "event on stream " + rec.Stream + ", not an account stream"}
	}
	a := accountRow{id: id}
	err := tx.QueryRowContext(ctx, `SELECT email, must_change_password FROM outbox_accounts WHERE account_id = ?`, id).Scan(&a.email, &a.mustChangePassword)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && (a.email == "" || domain.IsErased(a.email))) {
		return a, &poisonError{kind: kind, accountID: id, reason: "no e-mail address on record for account " + id}
	}
	return a, err
}

type propertyRow struct {
	id, name, primary string
	billing           []string
}

func (p propertyRow) displayName() string {
	if p.name != "" {
		return p.name
	}
	return p.id
}

func propertyOf(ctx context.Context, tx *sql.Tx, id string) (propertyRow, bool, error) {
	p := propertyRow{id: id}
	var billing string
	err := tx.QueryRowContext(ctx, `SELECT name, primary_contact, billing_contacts FROM outbox_properties WHERE property_id = ?`, id).Scan(&p.name, &p.primary, &billing)
	if errors.Is(err, sql.ErrNoRows) {
		return p, false, nil
	}
	if err != nil {
		return p, false, err
	}
	if err := json.Unmarshal([]byte(billing), &p.billing); err != nil {
		return p, false, fmt.Errorf("property %s billing contacts: %w", id, err)
	}
	return p, true, nil
}

func propertiesOfAccount(ctx context.Context, tx *sql.Tx, accountID string) ([]propertyRow, error) {
	rows, err := tx.QueryContext(ctx, `SELECT property_id FROM outbox_memberships WHERE account_id = ? ORDER BY property_id`, accountID)
	if err != nil {
		return nil, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []propertyRow
	for _, id := range ids {
		p, found, err := propertyOf(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		if found {
			out = append(out, p)
		}
	}
	return out, nil
}

// schema: the checkpoints table is projections.OpenDB's, repeated so a bare database works.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS checkpoints (name TEXT PRIMARY KEY, position INTEGER NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS outbox_accounts (account_id TEXT PRIMARY KEY, email TEXT NOT NULL,
		must_change_password INTEGER NOT NULL DEFAULT 0)`,
	`CREATE TABLE IF NOT EXISTS outbox_memberships (account_id TEXT NOT NULL, property_id TEXT NOT NULL,
		PRIMARY KEY (account_id, property_id))`,
	`CREATE TABLE IF NOT EXISTS outbox_disables (account_id TEXT NOT NULL, kind TEXT NOT NULL,
		PRIMARY KEY (account_id, kind))`,
	`CREATE TABLE IF NOT EXISTS outbox_properties (property_id TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '',
		primary_contact TEXT NOT NULL DEFAULT '', billing_contacts TEXT NOT NULL DEFAULT '[]')`,
	`CREATE TABLE IF NOT EXISTS outbox_deliveries (message_id TEXT PRIMARY KEY, outcome TEXT NOT NULL, position INTEGER NOT NULL,
		recorded_at TEXT NOT NULL, kind TEXT NOT NULL, account_id TEXT NOT NULL, event_id TEXT NOT NULL, event_position INTEGER NOT NULL,
		event_type TEXT NOT NULL, attempts INTEGER NOT NULL, reason TEXT NOT NULL, detail TEXT NOT NULL, migrated INTEGER NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS outbox_attempts (id TEXT PRIMARY KEY, attempts INTEGER NOT NULL, last_error TEXT NOT NULL,
		last_attempt_at TEXT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS outbox_dead_letters (id TEXT PRIMARY KEY, position INTEGER NOT NULL, event_type TEXT NOT NULL,
		kind TEXT NOT NULL, account_id TEXT NOT NULL, recipients TEXT NOT NULL, subject TEXT NOT NULL, attempts INTEGER NOT NULL,
		last_error TEXT NOT NULL, dead_at TEXT NOT NULL)`,
}

func saveCheckpoint(ctx context.Context, tx *sql.Tx, pos uint64) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO checkpoints(name, position) VALUES(?, ?)
		ON CONFLICT(name) DO UPDATE SET position = excluded.position`, CheckpointName, pos); err != nil {
		return fmt.Errorf("outbox: checkpoint: %w", err)
	}
	return nil
}

// applyState mirrors in the address tables what mail needs to know. Every change is
// idempotent, so replaying an event already applied leaves the tables as they were.
func applyState(ctx context.Context, tx *sql.Tx, d eventlog.Decoded) error {
	accountID, _ := strings.CutPrefix(d.Recorded.Stream, "account-")
	exec := func(q string, args ...any) error {
		_, err := tx.ExecContext(ctx, q, args...)
		return err
	}
	switch e := d.Event.Data.(type) {
	case domain.AccountRegistered:
		if e.AccountID != "" {
			accountID = e.AccountID
		}
		if err := exec(`INSERT INTO outbox_accounts(account_id, email) VALUES(?, ?)
			ON CONFLICT(account_id) DO UPDATE SET email = excluded.email`, accountID, e.Email); err != nil {
			return err
		}
		if e.PropertyID != "" {
			return exec(`INSERT OR IGNORE INTO outbox_memberships(account_id, property_id) VALUES(?, ?)`, accountID, e.PropertyID)
		}
	case domain.LinkedToProperty:
		return exec(`INSERT OR IGNORE INTO outbox_memberships(account_id, property_id) VALUES(?, ?)`, accountID, e.PropertyID)
	case domain.UnlinkedFromProperty:
		return exec(`DELETE FROM outbox_memberships WHERE account_id = ? AND property_id = ?`, accountID, e.PropertyID)
	case domain.AccountDisabled:
		return exec(`INSERT OR IGNORE INTO outbox_disables(account_id, kind) VALUES(?, ?)`, accountID, e.Kind)
	case domain.AccountEnabled:
		if err := exec(`DELETE FROM outbox_disables WHERE account_id = ? AND kind = ?`, accountID, e.Kind); err != nil {
			return err
		}
		if e.Kind == domain.DisableSuspiciousActivity {
			// R3.1: the domain requires a password change with this re-enable (its
			// PasswordChangeRequired event follows in the same append).
			return exec(`UPDATE outbox_accounts SET must_change_password = 1 WHERE account_id = ?`, accountID)
		}
	case domain.PasswordChangeRequired:
		return exec(`UPDATE outbox_accounts SET must_change_password = 1 WHERE account_id = ?`, accountID)
	case domain.PasswordChanged:
		return exec(`UPDATE outbox_accounts SET must_change_password = 0 WHERE account_id = ?`, accountID)
	case domain.AccountErased:
		// The row stays (mail events of the account are poison without an address, as a
		// rebuild reading the erased registration would find), its address does not.
		return exec(`UPDATE outbox_accounts SET email = ? WHERE account_id = ?`, domain.Erased, accountID)
	case domain.PropertyCreated:
		id, _ := strings.CutPrefix(d.Recorded.Stream, "property-")
		if e.PropertyID != "" {
			id = e.PropertyID
		}
		return exec(`INSERT INTO outbox_properties(property_id, name, primary_contact) VALUES(?, ?, ?)
			ON CONFLICT(property_id) DO UPDATE SET name = excluded.name, primary_contact = excluded.primary_contact`, id, e.Name, e.PrimaryContactEmail)
	case domain.BillingContactAdded:
		id, _ := strings.CutPrefix(d.Recorded.Stream, "property-")
		var raw string
		err := tx.QueryRowContext(ctx, `SELECT billing_contacts FROM outbox_properties WHERE property_id = ?`, id).Scan(&raw)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var contacts []string
		if raw != "" {
			if err := json.Unmarshal([]byte(raw), &contacts); err != nil {
				return fmt.Errorf("property %s billing contacts: %w", id, err)
			}
		}
		if slices.Contains(contacts, e.Email) {
			return nil
		}
		b, _ := json.Marshal(append(contacts, e.Email))
		return exec(`INSERT INTO outbox_properties(property_id, billing_contacts) VALUES(?, ?)
			ON CONFLICT(property_id) DO UPDATE SET billing_contacts = excluded.billing_contacts`, id, string(b))
	}
	return nil
}
