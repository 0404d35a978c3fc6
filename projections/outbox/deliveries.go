package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"accountd/domain"
	"accountd/eventstore"
	"accountd/eventstore/eventlog"

	"github.com/google/uuid"
)

// The record of delivery lives in the log. Each message the outbox is done with gets one
// event on its own stream, domain.MailStream(message ID): mail_sent.v1 or
// mail_dead_lettered.v1, appended with eventstore.NoStream, so of two nodes (or a node and
// its own replay) recording the same message only one record is stored and the other
// append fails with a conflict, which means "already recorded": done.
//
// outbox_deliveries is the fold of those events, with its own checkpoint
// (DeliveriesCheckpointName). Before each batch the outbox brings it up to the log's head,
// so "was message X delivered?" is one lookup that knows every record the log holds, even
// when the outbox itself replays from position 0 (a deleted readmodels.db): the records it
// wrote the first time sit later in the log than the events that caused them, and the
// fold has read them already. Folding the log again gives the same rows.

// DeliveriesCheckpointName keys the deliveries fold's row in the checkpoints table.
const DeliveriesCheckpointName = "outbox_deliveries"

// Outcomes of a message, as outbox_deliveries records them.
const (
	OutcomeSent         = "sent"
	OutcomeDeadLettered = "dead_lettered"
	// OutcomeUnreadable: the message's stream holds an event this version cannot read. The
	// message counts as done: something recorded it.
	OutcomeUnreadable = "unreadable"
)

// Delivery is what the log records about one message.
type Delivery struct {
	MessageID string
	Outcome   string    // OutcomeSent, OutcomeDeadLettered or OutcomeUnreadable
	Position  uint64    // the log position of the mail_* event
	At        time.Time // when the outbox recorded it (its clock)
	Kind      string
	AccountID string
	// EventID, EventPosition and EventType name the event that caused the message.
	EventID       string
	EventPosition uint64
	EventType     string
	Attempts      int
	Reason        string // dead letters: a domain.Mail* reason code
	Detail        string // dead letters: the last error, without addresses
	Migrated      bool   // recorded at the upgrade from outbox_sent / outbox_dead_letters
}

// Recorder is the port the outbox records deliveries through: the log's Append (the
// server wires its event store). The outbox appends nothing else.
type Recorder interface {
	Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error)
}

var mailRecordTypes = map[string]bool{
	domain.MailSent{}.EventType():         true,
	domain.MailDeadLettered{}.EventType(): true,
}

// deliveries folds the log's mail records into outbox_deliveries.
type deliveries struct {
	store eventstore.Store
	db    *sql.DB
	log   *slog.Logger
	pos   atomic.Uint64
}

func (d *deliveries) consumer() *eventlog.Consumer {
	return &eventlog.Consumer{Name: "outbox deliveries", Store: d.store, Batch: 4 * readBatch, Logger: d.log,
		Checkpoint: d.pos.Load, Handle: d.apply}
}

// catchUp folds every record up to the log's head as it is now.
func (d *deliveries) catchUp(ctx context.Context) error { return d.consumer().CatchUpToHead(ctx) }

// apply folds a batch of the log (other events are passed over without being decoded) and
// moves the fold's checkpoint past it, in one transaction.
func (d *deliveries) apply(ctx context.Context, recs []eventstore.RecordedEvent) error {
	if len(recs) == 0 || recs[len(recs)-1].Position <= d.pos.Load() {
		return nil
	}
	// A short transaction, not interrupted once begun: see Runner.applyDecoded.
	ctx = context.WithoutCancel(ctx)
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("outbox: deliveries: begin: %w", err)
	}
	defer tx.Rollback()
	for _, rec := range recs {
		if rec.Position <= d.pos.Load() || !mailRecordTypes[rec.Type] || rec.Revision != 0 {
			continue
		}
		if err := insertDelivery(ctx, tx, deliveryOf(rec)); err != nil {
			return err
		}
	}
	last := recs[len(recs)-1].Position
	if _, err := tx.ExecContext(ctx, `INSERT INTO checkpoints(name, position) VALUES(?, ?)
		ON CONFLICT(name) DO UPDATE SET position = excluded.position`, DeliveriesCheckpointName, last); err != nil {
		return fmt.Errorf("outbox: deliveries checkpoint: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("outbox: deliveries: commit: %w", err)
	}
	d.pos.Store(last)
	return nil
}

// deliveryOf reads a stored mail record.
func deliveryOf(rec eventstore.RecordedEvent) Delivery {
	id, _ := strings.CutPrefix(rec.Stream, "mail-")
	dec, err := eventlog.Decode(rec)
	if err != nil {
		return Delivery{MessageID: id, Outcome: OutcomeUnreadable, Position: rec.Position, At: rec.RecordedAt.UTC(), Detail: err.Error()}
	}
	return deliveryFrom(dec.Event, rec.Position)
}

// deliveryFrom is the row of a mail record at a position: the same whether the outbox
// folds it from the log or has just appended it.
func deliveryFrom(e domain.Event, pos uint64) Delivery {
	d := Delivery{Position: pos, At: e.At.UTC()}
	switch p := e.Data.(type) {
	case domain.MailSent:
		d.MessageID, d.Outcome, d.Kind, d.AccountID = p.MessageID, OutcomeSent, p.Kind, p.AccountID
		d.EventID, d.EventPosition, d.Attempts, d.Migrated = p.CauseID, p.CausePosition, p.Attempts, p.Migrated
	case domain.MailDeadLettered:
		d.MessageID, d.Outcome, d.Kind, d.AccountID = p.MessageID, OutcomeDeadLettered, p.Kind, p.AccountID
		d.EventID, d.EventPosition, d.EventType, d.Attempts = p.CauseID, p.CausePosition, p.CauseType, p.Attempts
		d.Reason, d.Detail, d.Migrated = p.Reason, p.Detail, p.Migrated
	}
	return d
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// insertDelivery keeps the first record of a message: the log stores only one.
func insertDelivery(ctx context.Context, x execer, d Delivery) error {
	_, err := x.ExecContext(ctx, `INSERT INTO outbox_deliveries(message_id, outcome, position, recorded_at, kind, account_id,
		event_id, event_position, event_type, attempts, reason, detail, migrated) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(message_id) DO NOTHING`,
		d.MessageID, d.Outcome, d.Position, d.At.UTC().Format(time.RFC3339Nano), d.Kind, d.AccountID,
		d.EventID, d.EventPosition, d.EventType, d.Attempts, d.Reason, d.Detail, d.Migrated)
	if err != nil {
		return fmt.Errorf("outbox: delivery %s: %w", d.MessageID, err)
	}
	return nil
}

// lookupDelivery answers "is message id done?" from the fold.
func lookupDelivery(ctx context.Context, q queryer, id string) (Delivery, bool, error) {
	d := Delivery{MessageID: id}
	var at string
	err := q.QueryRowContext(ctx, `SELECT outcome, position, recorded_at, kind, account_id, event_id, event_position, event_type,
		attempts, reason, detail, migrated FROM outbox_deliveries WHERE message_id = ?`, id).
		Scan(&d.Outcome, &d.Position, &at, &d.Kind, &d.AccountID, &d.EventID, &d.EventPosition, &d.EventType,
			&d.Attempts, &d.Reason, &d.Detail, &d.Migrated)
	if errors.Is(err, sql.ErrNoRows) {
		return Delivery{}, false, nil
	}
	if err != nil {
		return Delivery{}, false, fmt.Errorf("outbox: delivery lookup: %w", err)
	}
	d.At, _ = time.Parse(time.RFC3339Nano, at)
	return d, true, nil
}

// fromLog reads message id's record from its stream (the winner of a conflict) and folds it.
func (o *Outbox) fromLog(ctx context.Context, id string) (Delivery, bool, error) {
	recs, err := o.cfg.Store.ReadStream(ctx, domain.MailStream(id), 0, 1)
	if errors.Is(err, eventstore.ErrStreamNotFound) || (err == nil && len(recs) == 0) {
		return Delivery{}, false, nil
	}
	if err != nil {
		return Delivery{}, false, fmt.Errorf("outbox: read %s: %w", domain.MailStream(id), err)
	}
	d := deliveryOf(recs[0])
	d.MessageID = id
	if err := insertDelivery(ctx, o.cfg.DB, d); err != nil {
		return Delivery{}, false, err
	}
	return d, true, nil
}

// recordInLog appends a message's record to its stream, once. It returns the record the
// log holds: this one, or the one another node (or an earlier run) stored first. An append
// that fails otherwise (the store unavailable) is retried here, with backoff, until it
// succeeds or ctx ends: the mail has gone, and sending it again because its record could
// not be written would turn a store outage into duplicates.
func (o *Outbox) recordInLog(ctx context.Context, causation, correlation string, p domain.Payload, id string, at time.Time) (_ Delivery, won bool, _ error) {
	stream := domain.MailStream(id)
	at = at.UTC()
	// A fresh command ID per record: retrying this very append (below) is recognised as a
	// retry, while another node's or another run's record of the same message, with an ID
	// of its own, conflicts on NoStream and is told apart.
	evs, err := eventlog.Encode(stream, domain.Metadata{CommandID: eventlog.NewCommandID(), CorrelationID: correlation, CausationID: causation},
		[]domain.Event{{At: at, Data: p}})
	if err != nil {
		return Delivery{}, false, err
	}
	for failures := 1; ; failures++ {
		res, err := o.cfg.Recorder.Append(ctx, stream, eventstore.NoStream, evs...)
		if err == nil {
			o.appended.Add(1)
			return deliveryFrom(domain.Event{At: at, Data: p}, res.LastPosition()), true, nil
		}
		if errors.Is(err, eventstore.ErrWrongExpectedVersion) || errors.Is(err, eventstore.ErrDuplicateEventID) {
			d, found, rerr := o.fromLog(ctx, id)
			if rerr == nil && found {
				o.conflicts.Add(1)
				o.log.Info("outbox: message already recorded in the log (another node or an earlier run); keeping that record",
					"message_id", id, "outcome", d.Outcome, "record_position", d.Position)
				return d, false, nil
			}
			if rerr != nil {
				err = rerr
			}
		}
		if cerr := ctx.Err(); cerr != nil {
			return Delivery{}, false, cerr
		}
		wait := o.backoff(failures)
		o.log.Warn("outbox: could not record a delivery in the log; retrying (the mail is not sent again)",
			"message_id", id, "stream", stream, "retry_in", wait, "error", err)
		if err := sleep(ctx, wait); err != nil {
			return Delivery{}, false, err
		}
	}
}

// eventPart is the ID of the event that caused a message: its ID, or the ID before the
// property suffix (propertyMessageID).
func eventPart(messageID string) string {
	if len(messageID) < 36 {
		return ""
	}
	if _, err := uuid.Parse(messageID[:36]); err != nil {
		return ""
	}
	return messageID[:36]
}

// migrate records in the log, once, what an earlier release recorded only in readmodels.db:
// the rows of outbox_sent, and the rows of outbox_dead_letters the log does not record yet.
// Without it, losing readmodels.db after the upgrade would re-send what was sent before it.
//
// Only rows the mail horizon can still reach are recorded: a message sent (or given up)
// longer than MaxAge ago was caused by an event at least that old, which the outbox skips
// as stale whatever its record says; with no horizon (MaxAge < 0) every row is. The former
// rows do not know the message's kind, account or causing position, so the records name
// the message and its event and are marked migrated. outbox_sent is then dropped: the
// log is the record. outbox_dead_letters stays, as the local details of dead letters.
// Keeping to honour the old tables instead would leave the problem where it was: the rows
// die with the file.
func (o *Outbox) migrate(ctx context.Context) error {
	horizon := ""
	if o.cfg.MaxAge > 0 {
		// RFC 3339 strings compare in time order to within their fractional digits: one
		// second of slack keeps every row the horizon reaches.
		horizon = o.cfg.Clock().Add(-o.cfg.MaxAge - time.Second).UTC().Format(time.RFC3339Nano)
	}
	type row struct {
		id, eventType, kind, account, lastError, at string
		position                                    uint64
		attempts                                    int
		dead                                        bool
	}
	var rows []row
	var legacy int
	if err := o.cfg.DB.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'outbox_sent'`).Scan(&legacy); err != nil {
		return fmt.Errorf("outbox: migrate: %w", err)
	}
	if legacy > 0 {
		rs, err := o.cfg.DB.QueryContext(ctx, `SELECT id, sent_at FROM outbox_sent
			WHERE sent_at >= ? AND id NOT IN (SELECT message_id FROM outbox_deliveries) ORDER BY sent_at, id`, horizon)
		if err != nil {
			return fmt.Errorf("outbox: migrate: %w", err)
		}
		for rs.Next() {
			var r row
			if err := rs.Scan(&r.id, &r.at); err != nil {
				rs.Close()
				return fmt.Errorf("outbox: migrate: %w", err)
			}
			rows = append(rows, r)
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return fmt.Errorf("outbox: migrate: %w", err)
		}
	}
	rs, err := o.cfg.DB.QueryContext(ctx, `SELECT id, position, event_type, kind, account_id, attempts, last_error, dead_at FROM outbox_dead_letters
		WHERE dead_at >= ? AND id NOT IN (SELECT message_id FROM outbox_deliveries) ORDER BY position, id`, horizon)
	if err != nil {
		return fmt.Errorf("outbox: migrate: %w", err)
	}
	for rs.Next() {
		r := row{dead: true}
		if err := rs.Scan(&r.id, &r.position, &r.eventType, &r.kind, &r.account, &r.attempts, &r.lastError, &r.at); err != nil {
			rs.Close()
			return fmt.Errorf("outbox: migrate: %w", err)
		}
		rows = append(rows, r)
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return fmt.Errorf("outbox: migrate: %w", err)
	}

	var sent, dead int
	for _, r := range rows {
		at, err := time.Parse(time.RFC3339Nano, r.at)
		if err != nil {
			at = o.cfg.Clock()
		}
		var p domain.Payload = domain.MailSent{MessageID: r.id, CauseID: eventPart(r.id), Migrated: true}
		if r.dead {
			reason := domain.MailAttemptsExhausted
			switch {
			case r.attempts == 0 && r.kind == "":
				reason = domain.MailUndecodable
			case r.attempts == 0:
				reason = domain.MailUndeliverable
			case strings.Contains(r.lastError, ErrPermanent.Error()):
				reason = domain.MailRejected
			}
			p = domain.MailDeadLettered{MessageID: r.id, Kind: r.kind, AccountID: r.account, CauseID: eventPart(r.id),
				CausePosition: r.position, CauseType: r.eventType, Attempts: r.attempts, Reason: reason,
				Detail: redactDetail(r.lastError), Migrated: true}
			dead++
		} else {
			sent++
		}
		d, _, err := o.recordInLog(ctx, eventPart(r.id), "", p, r.id, at)
		if err != nil {
			return err
		}
		if err := insertDelivery(ctx, o.cfg.DB, d); err != nil {
			return err
		}
	}
	if legacy > 0 {
		if _, err := o.cfg.DB.ExecContext(ctx, `DROP TABLE outbox_sent`); err != nil {
			return fmt.Errorf("outbox: migrate: %w", err)
		}
	}
	if sent+dead > 0 || legacy > 0 {
		o.log.Info("outbox: recorded the former outbox tables' deliveries in the log; outbox_sent is dropped",
			"sent", sent, "dead_lettered", dead, "horizon", o.cfg.MaxAge)
	}
	return nil
}

var (
	addressPattern = regexp.MustCompile(`[^\s<>()\[\]"',;:]+@[^\s<>()\[\]"',;:]+`)
	tokenPattern   = regexp.MustCompile(`(?i)(token=)[^\s&"'<>]+`)
)

// redactDetail makes a mailer's error fit for the log: no e-mail address (an SMTP reply
// quotes the recipient), no link token, at most domain.MailDetailMax bytes.
func redactDetail(s string) string {
	s = addressPattern.ReplaceAllString(s, "[address]")
	s = tokenPattern.ReplaceAllString(s, "${1}[redacted]")
	if len(s) > domain.MailDetailMax {
		s = s[:domain.MailDetailMax]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	return s
}
