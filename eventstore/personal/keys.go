package personal

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"accountd/domain"
)

// KeySize is the size of every subject and period key: 256 random bits.
const KeySize = 32

var (
	// ErrDestroyed: the key was destroyed (a tombstone stands in its place) and is never
	// created again.
	ErrDestroyed = errors.New("personal: key destroyed")
	// ErrNoKey: no key was ever created for the subject or period (a reader asked without
	// create). A token naming it cannot be authentic.
	ErrNoKey = errors.New("personal: no such key")
)

// Stable codes of the typed errors (domain.Error) this package returns for bad input.
const (
	CodeInvalidSubject     domain.Code = "invalid_personal_subject"
	CodeInvalidMonth       domain.Code = "invalid_month"
	CodeRetentionTooShort  domain.Code = "personal_retention_too_short"
	CodeNoSubjectForStream domain.Code = "no_personal_subject"
)

// Keys is the key store, kept outside the log: destroying a key there makes every copy of
// what it sealed unreadable (in the log, its backups, its archives) without touching one
// stored byte. Implementations: Memory, SQLite, Postgres; Cache bounds the look-ups.
type Keys interface {
	// SubjectKey returns the key of subject. With create, a missing key is made (once:
	// concurrent callers, on any node sharing the store, get the same key). ErrDestroyed
	// when the subject was destroyed, whatever create says; ErrNoKey without create when
	// there is none.
	SubjectKey(ctx context.Context, subject string, create bool) ([]byte, error)
	// PeriodKey is SubjectKey for the key of a UTC month ("2006-01"). A month before the
	// last DestroyPeriodsBefore is destroyed even if it never had a key.
	PeriodKey(ctx context.Context, month string, create bool) ([]byte, error)
	// DestroySubject destroys the subject's key and leaves a tombstone, so that no key is
	// ever made for it again. Idempotent; a subject that never had a key gets a tombstone.
	DestroySubject(ctx context.Context, subject string) error
	// DestroyPeriodsBefore destroys the key of every month before month and refuses to
	// create one for such a month from then on. It returns how many keys it destroyed.
	DestroyPeriodsBefore(ctx context.Context, month string) (int, error)
	// Close releases the store.
	Close() error
}

// MonthLayout is the layout of a period: the UTC month of an event's occurred_at.
const MonthLayout = "2006-01"

// MonthOf is the period of an instant.
func MonthOf(t time.Time) string { return t.UTC().Format(MonthLayout) }

// CheckMonth refuses what is not a month in MonthLayout, with CodeInvalidMonth.
func CheckMonth(month string) error {
	if t, err := time.Parse(MonthLayout, month); err != nil || t.Format(MonthLayout) != month {
		return &domain.Error{Code: CodeInvalidMonth, Message: fmt.Sprintf("%q is not a month (want YYYY-MM)", month)}
	}
	return nil
}

// CheckSubject refuses an empty subject or one with a byte outside [A-Za-z0-9._%-] (a
// subject sits in a sealed token between ':' separators and inside a JSON string), with
// CodeInvalidSubject.
func CheckSubject(subject string) error {
	if subject == "" || len(subject) > 512 {
		return &domain.Error{Code: CodeInvalidSubject, Message: fmt.Sprintf("subject %q: empty or longer than 512 bytes", subject)}
	}
	for i := 0; i < len(subject); i++ {
		if !subjectByte(subject[i]) && subject[i] != '%' {
			return &domain.Error{Code: CodeInvalidSubject, Message: fmt.Sprintf("subject %q: byte %q not allowed", subject, subject[i])}
		}
	}
	return nil
}

func newKey() []byte {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		panic("personal: no randomness: " + err.Error()) // crypto/rand does not fail on supported systems
	}
	return k
}

// Memory is a Keys in memory: tests, and a process whose log is in memory too.
type Memory struct {
	mu       sync.Mutex
	subjects map[string][]byte // nil value: tombstone
	periods  map[string][]byte
	floor    string // months before it are destroyed
}

// NewMemory returns an empty key store.
func NewMemory() *Memory {
	return &Memory{subjects: map[string][]byte{}, periods: map[string][]byte{}}
}

var _ Keys = (*Memory)(nil)

func (m *Memory) SubjectKey(ctx context.Context, subject string, create bool) ([]byte, error) {
	if err := CheckSubject(subject); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return getOrCreate(m.subjects, subject, create)
}

func (m *Memory) PeriodKey(ctx context.Context, month string, create bool) ([]byte, error) {
	if err := CheckMonth(month); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if month < m.floor {
		return nil, ErrDestroyed
	}
	return getOrCreate(m.periods, month, create)
}

func getOrCreate(keys map[string][]byte, name string, create bool) ([]byte, error) {
	k, found := keys[name]
	switch {
	case found && k == nil:
		return nil, ErrDestroyed
	case found:
		return k, nil
	case !create:
		return nil, ErrNoKey
	}
	k = newKey()
	keys[name] = k
	return k, nil
}

func (m *Memory) DestroySubject(ctx context.Context, subject string) error {
	if err := CheckSubject(subject); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.subjects[subject] = nil // the bytes are not zeroed: a caller (Cache) may hold them
	return nil
}

func (m *Memory) DestroyPeriodsBefore(ctx context.Context, month string) (int, error) {
	if err := CheckMonth(month); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for p, k := range m.periods {
		if p < month && k != nil {
			m.periods[p] = nil
			n++
		}
	}
	m.floor = max(m.floor, month)
	return n, nil
}

func (m *Memory) Close() error { return nil }
