package eventstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// ErrStorageUnavailable: the backend could not write because of where it writes, not
// because of what was written: the disk is full, an I/O error, the file or the database
// is read-only, the connection to the database is lost. The append may be retried as it
// is (same event IDs): an append that did commit returns its first result again. Backends
// return a *StorageError, which matches it.
var ErrStorageUnavailable = errors.New("eventstore: storage unavailable")

// Why the storage is unavailable, as a StorageError and the storage-failure metric say it.
const (
	StorageFull           = "disk_full"
	StorageIOError        = "io_error"
	StorageReadOnly       = "read_only"
	StorageConnectionLost = "connection_lost"
)

// StorageReasons lists every StorageError reason.
var StorageReasons = []string{StorageFull, StorageIOError, StorageReadOnly, StorageConnectionLost}

// StorageError is a write the storage refused (ErrStorageUnavailable), with the reason
// and the backend's own error.
type StorageError struct {
	Reason string // one of StorageReasons
	Err    error
}

func (e *StorageError) Error() string {
	return fmt.Sprintf("eventstore: storage unavailable (%s): %v", e.Reason, e.Err)
}

func (e *StorageError) Unwrap() error { return e.Err }

func (e *StorageError) Is(target error) bool { return target == ErrStorageUnavailable }

// StorageProber is implemented by a store that can check, without appending an event,
// whether its storage takes writes again (free space, a writable file, a live
// connection). WatchStorage uses it to find out when to declare the storage back.
type StorageProber interface {
	ProbeStorage(ctx context.Context) error
}

// StorageHealth is what WatchStorage learnt from the appends: whether the last one the
// storage answered succeeded, and how many failed for each reason.
type StorageHealth struct {
	store    Store
	last     atomic.Pointer[error] // the failure that made the storage unavailable; nil: available
	mu       sync.Mutex
	failures map[string]uint64
	changed  func(available bool, err error)
}

// WatchStorage wraps s so that every append tells the returned StorageHealth whether the
// storage took it: an append failing with ErrStorageUnavailable makes the storage
// unavailable, the next one that succeeds (or a successful Probe) makes it available
// again. Refusals (a wrong expected version, an invalid event) say nothing about the
// storage. The wrapper keeps ChainVerifier and Unwrap, as Instrument does. changed, when
// not nil, is called on every transition (from the appending goroutine).
func WatchStorage(s Store, changed func(available bool, err error)) (Store, *StorageHealth) {
	h := &StorageHealth{store: s, failures: map[string]uint64{}, changed: changed}
	base := &watchedStore{Store: s, h: h}
	if v, ok := s.(ChainVerifier); ok {
		return &watchedVerifier{watchedStore: base, v: v}, h
	}
	return base, h
}

// Err is the storage failure that made the storage unavailable, nil while it is available.
func (h *StorageHealth) Err() error {
	if p := h.last.Load(); p != nil {
		return *p
	}
	return nil
}

// Available reports whether the last append the storage answered succeeded.
func (h *StorageHealth) Available() bool { return h.last.Load() == nil }

// Failures is the number of appends that failed with reason so far.
func (h *StorageHealth) Failures(reason string) uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.failures[reason]
}

// Observe records the outcome of a write: nil makes the storage available, an error
// matching ErrStorageUnavailable makes it unavailable, any other error changes nothing.
func (h *StorageHealth) Observe(err error) {
	if err == nil {
		// Every successful append passes here: a load, not a write, keeps the cache line
		// shared between the cores appending.
		if h.last.Load() == nil {
			return
		}
		if old := h.last.Swap(nil); old != nil && h.changed != nil {
			h.changed(true, nil)
		}
		return
	}
	if !errors.Is(err, ErrStorageUnavailable) {
		return
	}
	reason := StorageIOError
	var se *StorageError
	if errors.As(err, &se) {
		reason = se.Reason
	}
	h.mu.Lock()
	h.failures[reason]++
	h.mu.Unlock()
	if old := h.last.Swap(&err); old == nil && h.changed != nil {
		h.changed(false, err)
	}
}

// Probe asks the store (or a store it wraps) whether its storage takes writes again, and
// records the answer as Observe does. A store without a probe answers nil, changing
// nothing: only its next successful append makes it available.
func (h *StorageHealth) Probe(ctx context.Context) error {
	p := storageProber(h.store)
	if p == nil {
		return nil
	}
	err := p.ProbeStorage(ctx)
	if err != nil && !errors.Is(err, ErrStorageUnavailable) {
		err = &StorageError{Reason: StorageIOError, Err: err}
	}
	h.Observe(err)
	return err
}

func storageProber(s Store) StorageProber {
	for s != nil {
		if p, ok := s.(StorageProber); ok {
			return p
		}
		u, ok := s.(interface{ Unwrap() Store })
		if !ok {
			return nil
		}
		s = u.Unwrap()
	}
	return nil
}

type watchedStore struct {
	Store
	h *StorageHealth
}

func (s *watchedStore) Append(ctx context.Context, stream string, expected ExpectedRevision, events ...EventData) (AppendResult, error) {
	res, err := s.Store.Append(ctx, stream, expected, events...)
	s.h.Observe(err)
	return res, err
}

// Unwrap returns the watched store, so the capabilities underneath stay reachable.
func (s *watchedStore) Unwrap() Store { return s.Store }

type watchedVerifier struct {
	*watchedStore
	v ChainVerifier
}

func (s *watchedVerifier) VerifyChain(ctx context.Context) (ChainHead, error) {
	return s.v.VerifyChain(ctx)
}
