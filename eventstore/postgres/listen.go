package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

const (
	listenBackoffMin = 100 * time.Millisecond
	listenBackoffMax = 5 * time.Second
)

// listen keeps one connection outside the pool LISTENing on the schema's channel and turns
// every notification into a Changes() wake-up. A pooled connection would not do: the pool
// may hand it to a query or close it, and LISTEN belongs to the session.
func (s *Store) listen(ctx context.Context, cfg *pgx.ConnConfig) {
	defer close(s.listenDone)
	backoff := listenBackoffMin
	for ctx.Err() == nil {
		if s.listenOnce(ctx, cfg) {
			backoff = listenBackoffMin
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, listenBackoffMax)
	}
}

// listenOnce serves one connection until it fails; it reports whether it got as far as
// listening, which resets the backoff.
func (s *Store) listenOnce(ctx context.Context, cfg *pgx.ConnConfig) (listened bool) {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.channel}.Sanitize()); err != nil {
		return false
	}
	// Whatever was committed while no connection listened went unannounced.
	s.changes.Notify()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return true
		}
		s.changes.Notify()
	}
}
