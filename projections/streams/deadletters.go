package streams

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
)

// deadLetters is the poison queue of the streams: a message.Publisher writing the events a
// stream could not turn into an envelope (undecodable in the log: retrying cannot help) to
// the stream_dead_letters table, so the stream moves on and the operator sees what it
// skipped in GET /v1/admin/streams. Delivery failures never land here: a destination that
// refuses pauses its stream instead, and nothing is skipped.
type deadLetters struct {
	db    *sql.DB
	clock func() time.Time
}

const deadLetterSchema = `CREATE TABLE IF NOT EXISTS stream_dead_letters (
	stream TEXT NOT NULL, event_id TEXT NOT NULL, position INTEGER NOT NULL, event_type TEXT NOT NULL,
	reason TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (stream, event_id))`

// Publish records each message; topic is the stream's name.
func (q deadLetters) Publish(topic string, msgs ...*message.Message) error {
	for _, m := range msgs {
		rec, ok := recordFrom(m.Context())
		if !ok {
			return fmt.Errorf("streams: dead letter %s without its log record", m.UUID)
		}
		if _, err := q.db.ExecContext(context.WithoutCancel(m.Context()), `INSERT INTO stream_dead_letters(stream, event_id, position, event_type, reason, at)
			VALUES(?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, topic, rec.ID.String(), rec.Position, rec.Type,
			m.Metadata.Get(middleware.ReasonForPoisonedKey), q.clock().UTC().Format(time.RFC3339Nano)); err != nil {
			return fmt.Errorf("streams: dead letter: %w", err)
		}
	}
	return nil
}

func (q deadLetters) Close() error { return nil }

func (q deadLetters) count(ctx context.Context, stream string) (int, error) {
	var n int
	err := q.db.QueryRowContext(ctx, `SELECT count(*) FROM stream_dead_letters WHERE stream = ?`, stream).Scan(&n)
	return n, err
}
