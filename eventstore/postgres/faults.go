package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"accountd/eventstore"
)

// storageFault wraps err in an *eventstore.StorageError when PostgreSQL, or the way to
// it, failed rather than the append: the server's disk is full or out of resources
// (class 53), an I/O error (58030), a read-only server (25006: a standby, or
// default_transaction_read_only), or the connection is lost or refused (class 08, the
// 57P0x shutdowns, a network error). Any other error is returned as is.
func storageFault(err error) error {
	if err == nil || errors.Is(err, eventstore.ErrStorageUnavailable) {
		return err
	}
	if reason := storageReason(err); reason != "" {
		return &eventstore.StorageError{Reason: reason, Err: err}
	}
	return err
}

func storageReason(err error) string {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return "" // the caller's, or the batch's own bound: not the storage's answer
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "53100":
			return eventstore.StorageFull
		case strings.HasPrefix(pe.Code, "53"), pe.Code == "58030":
			return eventstore.StorageIOError
		case pe.Code == "25006":
			return eventstore.StorageReadOnly
		case strings.HasPrefix(pe.Code, "08"), strings.HasPrefix(pe.Code, "57P0"):
			return eventstore.StorageConnectionLost
		}
		return ""
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &ce), errors.As(err, &ne), pgconn.SafeToRetry(err), // a closed or broken connection

		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, net.ErrClosed):
		return eventstore.StorageConnectionLost
	}
	return ""
}

// ProbeStorage implements eventstore.StorageProber: a round trip to the server. It tells a
// lost connection from a restored one; a full disk on the server shows only in the next
// append, which WatchStorage watches too.
func (s *Store) ProbeStorage(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return storageFault(fmt.Errorf("postgres: storage probe: %w", err))
	}
	return nil
}
