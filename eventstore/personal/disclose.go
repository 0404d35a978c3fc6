package personal

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
)

// ErrNotToken: a disclosure was asked for a text that is not a token of this key store.
var ErrNotToken = errors.New("personal: not a sealed token")

// Disclosure opens one sealed value for a third party, an auditor reading an evidence
// bundle: the value, and K of the token format (doc.go), the key it was sealed under. K is
// derived for one subject and one month: it opens that subject's values of that month and
// nothing else (not its other months, not another subject, and not the subject's key). A
// verifier checks a disclosure with OpenDisclosed, without the key store.
type Disclosure struct {
	Value string
	Key   []byte
}

// Disclose opens text, a token of the event id. ErrDestroyed: its key was destroyed (the
// value is erased, and stays so); ErrNotToken: text is no token, or no key of this store
// ever sealed it.
func (s *Store) Disclose(ctx context.Context, id uuid.UUID, text string) (Disclosure, error) {
	t, ok := parseToken([]byte(text))
	if !ok || CheckSubject(string(t.subject)) != nil || (string(t.period) != NoPeriod && CheckMonth(string(t.period)) != nil) {
		return Disclosure{}, ErrNotToken
	}
	subject, period := string(t.subject), string(t.period)
	sk, err := s.keys.SubjectKey(ctx, subject, false)
	if err == nil && period != NoPeriod {
		var pk []byte
		if pk, err = s.keys.PeriodKey(ctx, period, false); err == nil {
			sk = baseKey(sk, pk, subject)
		}
	}
	switch {
	case errors.Is(err, ErrNoKey):
		return Disclosure{}, ErrNotToken
	case err != nil:
		return Disclosure{}, err
	}
	if len(t.payload) == 0 {
		return Disclosure{}, ErrDestroyed // appended after its key was destroyed
	}
	value, err := OpenDisclosed(sk, id, text)
	if err != nil {
		return Disclosure{}, ErrNotToken
	}
	return Disclosure{Value: value, Key: sk}, nil
}

// OpenDisclosed opens text, a token of the event id, with a disclosed key K: what a
// verifier runs to check that a bundle's value is the one sealed in the log.
func OpenDisclosed(key []byte, id uuid.UUID, text string) (string, error) {
	t, ok := parseToken([]byte(text))
	if !ok || len(t.payload) == 0 {
		return "", ErrNotToken
	}
	if len(key) != KeySize {
		return "", fmt.Errorf("personal: a disclosed key has %d bytes, want %d", len(key), KeySize)
	}
	sl, err := sealerOf(key)
	if err != nil {
		return "", err
	}
	plain, _, _, ok := sl.open(nil, nil, id, t)
	if !ok {
		return "", errors.New("personal: the disclosed key does not open the token")
	}
	return string(plain), nil
}
