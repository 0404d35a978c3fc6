package personal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"accountd/domain"
	"accountd/eventstore"
	"accountd/eventstore/transparency"
)

// personalField is transparency.PersonalFields as a set: the members whose values are
// sealed. periodField are those sealed under the subject's key AND the key of the event's
// month, so that retention (destroying old months) drops them while the e-mail stays; a
// personal field added to transparency later is sealed under the subject alone (kept until
// erasure) until it is named here.
var (
	personalField = func() map[string]bool {
		m := map[string]bool{}
		for _, f := range transparency.PersonalFields {
			m[f] = true
		}
		return m
	}()
	periodField = map[string]bool{"ip": true, "user_agent": true, "device_id": true, "addresses": true, "devices": true}
)

// Store is an eventstore.Store that seals the personal values of the events it appends
// and opens them again on every read (doc.go). The inner store holds only tokens; the
// transparency log, the hash chain and the evidence proofs are computed over those stored
// bytes and must read the inner store (Unwrap), never this one.
//
// Logs written before sealing existed stay readable: a value that is no token passes
// through a read unchanged, so old events show their plaintext until they are erased by
// other means (an erasure destroys the key, which erases only what was sealed).
type Store struct {
	inner eventstore.Store
	keys  Keys

	mu      sync.Mutex
	sealers map[sealerID]*sealerEntry
}

type sealerID struct{ subject, period string }

type sealerEntry struct {
	subjectKey, periodKey []byte
	s                     *sealer
}

// maxSealers bounds the derived keys kept (about 1 KB each, with AES's schedule).
const maxSealers = 50_000

var tokenOpening = []byte(`"` + TokenPrefix)

// errNotJSON refuses a payload that names a personal member and is not JSON.
var errNotJSON = fmt.Errorf("%w: the data names a personal member but is not JSON", eventstore.ErrInvalidEvent)

// Seal wraps inner. keys is used through a Cache (made here unless keys is one); Close
// closes both the inner store and the keys.
func Seal(inner eventstore.Store, keys Keys) *Store {
	if _, ok := keys.(*Cache); !ok {
		keys = NewCache(keys)
	}
	return &Store{inner: inner, keys: keys, sealers: map[sealerID]*sealerEntry{}}
}

var _ eventstore.Store = (*Store)(nil)

// Unwrap returns the inner store: what is stored, tokens and all. Capabilities of the
// inner store (CommittedHeads, StorageProber, GroupCommitReporter, ChainVerifier,
// HashTree) are found through it, as eventstore.FeaturesOf and the command side's
// committed heads already look.
func (s *Store) Unwrap() eventstore.Store { return s.inner }

// Keys is the (cached) key store, for the erasure command (commands.Shredder) and the
// retention sweep: destroying through it takes effect on this node at once.
func (s *Store) Keys() Keys { return s.keys }

// DestroySubject destroys a subject's key (commands.Shredder).
func (s *Store) DestroySubject(ctx context.Context, subject string) error {
	return s.keys.DestroySubject(ctx, subject)
}

// Features are the inner store's, less the capabilities that are interfaces this type
// does not implement itself (the chain, the tree, committed heads): the hash chain and
// the tree commit to the stored bytes, which this store's reads do not return, so
// checking them through it would fail. They stay reachable through Unwrap.
func (s *Store) Features() eventstore.Features {
	f := eventstore.FeaturesOf(s.inner)
	f.HashChain, f.HashTree, f.CommittedHeads = false, false, false
	return f
}

// Append seals the personal values of the events' data, then appends to the inner store.
// The bytes of a retried append are the same as the first time (synthetic nonces), so the
// inner store recognises the retry as ever.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	if err := eventstore.ValidateAppend(stream, events); err != nil {
		return eventstore.AppendResult{}, err // refused before a key is made for it
	}
	out := events
	for i, e := range events {
		data, changed, err := s.sealData(ctx, stream, e)
		if err != nil {
			return eventstore.AppendResult{}, fmt.Errorf("personal: seal %s of %q: %w", e.ID, stream, err)
		}
		if changed {
			if &out[0] == &events[0] {
				out = slices.Clone(events) // the caller's slice is not ours to change
			}
			out[i].Data = data
		}
	}
	return s.inner.Append(ctx, stream, expected, out...)
}

// ReadStream reads the inner store and opens the tokens.
func (s *Store) ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]eventstore.RecordedEvent, error) {
	recs, err := s.inner.ReadStream(ctx, stream, from, limit)
	if err != nil {
		return recs, err
	}
	return recs, s.openAll(ctx, recs)
}

// ReadAll reads the inner store and opens the tokens.
func (s *Store) ReadAll(ctx context.Context, after uint64, limit int) ([]eventstore.RecordedEvent, error) {
	recs, err := s.inner.ReadAll(ctx, after, limit)
	if err != nil {
		return recs, err
	}
	return recs, s.openAll(ctx, recs)
}

func (s *Store) HeadPosition(ctx context.Context) (uint64, error) { return s.inner.HeadPosition(ctx) }

func (s *Store) Changes() (<-chan struct{}, func()) { return s.inner.Changes() }

// Close closes the inner store and the keys.
func (s *Store) Close() error { return errors.Join(s.inner.Close(), s.keys.Close()) }

// mayHavePersonal is the cheap test before a scan: does any personal member name appear
// quoted in data.
func mayHavePersonal(data []byte) bool {
	for _, f := range quotedFields {
		if bytes.Contains(data, f) {
			return true
		}
	}
	return false
}

// quotedFields are the personal member names as they appear in JSON. A name spelled with
// an escape ("\u0065mail") is missed here and stored as it is: encoding/json never writes
// one, and transparency's view decodes it, so such a payload is no worse off than before.
var quotedFields = func() [][]byte {
	var out [][]byte
	for _, f := range transparency.PersonalFields {
		out = append(out, []byte(`"`+f+`"`))
	}
	return out
}()

func (s *Store) sealData(ctx context.Context, stream string, e eventstore.EventData) ([]byte, bool, error) {
	if !mayHavePersonal(e.Data) {
		return e.Data, false, nil
	}
	sc := scanner{data: e.Data}
	if err := sc.scan(); err != nil {
		// It names a personal member but cannot be read as JSON: refused rather than
		// stored with the value in clear (no domain event is anything but JSON).
		return nil, false, errNotJSON
	}
	if len(sc.spans) == 0 {
		return e.Data, false, nil
	}
	subject := SubjectOf(stream, sc.accountID)
	month := periodOf(e.Metadata)
	out := make([]byte, 0, len(e.Data)+len(sc.spans)*96)
	var scratch []byte
	last := 0
	for _, sp := range sc.spans {
		plain, ok := literal(e.Data[sp.start:sp.end])
		if !ok {
			return nil, false, errNotJSON
		}
		if len(plain) == 0 {
			continue // an empty value discloses nothing and stays empty
		}
		period := NoPeriod
		if periodField[sp.member] && month != "" {
			period = month
		}
		out = append(out, e.Data[last:sp.start]...)
		out = append(out, '"')
		sl, err := s.sealerFor(ctx, subject, period, true)
		switch {
		case errors.Is(err, ErrDestroyed):
			out = erasedToken(out, sp.member, subject, period)
		case err != nil:
			return nil, false, err
		default:
			out, scratch = sl.seal(out, scratch, e.ID, sp.member, subject, period, plain)
		}
		out = append(out, '"')
		last = sp.end
	}
	if last == 0 {
		return e.Data, false, nil
	}
	out = append(out, e.Data[last:]...)
	return out, true, nil
}

// literal is the content of a JSON string literal (quotes included in lit).
func literal(lit []byte) ([]byte, bool) {
	inner := lit[1 : len(lit)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return inner, true
	}
	var str string
	if json.Unmarshal(lit, &str) != nil {
		return nil, false
	}
	return []byte(str), true
}

// periodOf is the UTC month of the metadata's occurred_at, "" when it has none: then the
// period members are sealed under the subject's key alone (period "-"). Every domain
// event has one (eventlog.Encode).
func periodOf(metadata []byte) string {
	const key = `"occurred_at":"`
	if i := bytes.Index(metadata, []byte(key)); i >= 0 {
		rest := metadata[i+len(key):]
		if j := bytes.IndexByte(rest, '"'); j > 0 {
			if t, err := time.Parse(time.RFC3339Nano, string(rest[:j])); err == nil {
				return MonthOf(t)
			}
		}
	}
	if !bytes.Contains(metadata, []byte(`"occurred_at"`)) {
		return ""
	}
	var m struct {
		OccurredAt time.Time `json:"occurred_at"`
	}
	if json.Unmarshal(metadata, &m) != nil || m.OccurredAt.IsZero() {
		return ""
	}
	return MonthOf(m.OccurredAt)
}

// sealerFor returns the derived keys of (subject, period), looking the keys up (through
// the cache) every time so that a destroyed key is never used from here.
func (s *Store) sealerFor(ctx context.Context, subject, period string, create bool) (*sealer, error) {
	sk, err := s.keys.SubjectKey(ctx, subject, create)
	if err != nil {
		return nil, err
	}
	var pk []byte
	if period != NoPeriod {
		if pk, err = s.keys.PeriodKey(ctx, period, create); err != nil {
			return nil, err
		}
	}
	id := sealerID{subject, period}
	s.mu.Lock()
	e := s.sealers[id]
	s.mu.Unlock()
	if e != nil && bytes.Equal(e.subjectKey, sk) && bytes.Equal(e.periodKey, pk) {
		return e.s, nil
	}
	sl, err := newSealer(sk, pk, subject)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if _, present := s.sealers[id]; !present && len(s.sealers) >= maxSealers {
		for victim := range s.sealers {
			delete(s.sealers, victim)
			break
		}
	}
	s.sealers[id] = &sealerEntry{subjectKey: sk, periodKey: pk, s: sl}
	s.mu.Unlock()
	return sl, nil
}

func (s *Store) openAll(ctx context.Context, recs []eventstore.RecordedEvent) error {
	o := opener{s: s}
	for i := range recs {
		if !bytes.Contains(recs[i].Data, tokenOpening) {
			continue
		}
		data, err := o.open(ctx, recs[i].ID, recs[i].Data)
		if err != nil {
			return fmt.Errorf("personal: open %s@%d: %w", recs[i].Stream, recs[i].Revision, err)
		}
		recs[i].Data = data
	}
	return nil
}

// Open returns data (an event's stored data) with every token that authenticates for the
// event id replaced by its plaintext, and every token whose key was destroyed by
// domain.Erased. Anything else (plaintext, a string that only looks like a token, a token
// of another event) is left as it is. data itself is not modified.
func (s *Store) Open(ctx context.Context, id uuid.UUID, data []byte) ([]byte, error) {
	o := opener{s: s}
	return o.open(ctx, id, data)
}

// opener opens the events of one read: the keys of a (subject, period) are looked up once
// per read (a read is one instant), and its buffers are reused from token to token.
type opener struct {
	s       *Store
	memo    map[string]opened
	memoKey []byte
	raw, ad []byte
}

// opened is what a (subject, period) gave: its sealer, or that it is erased, or neither.
type opened struct {
	sl     *sealer
	erased bool
}

func (o *opener) open(ctx context.Context, id uuid.UUID, data []byte) ([]byte, error) {
	var out []byte
	last, i := 0, 0
	for {
		j := bytes.Index(data[i:], tokenOpening)
		if j < 0 {
			break
		}
		start := i + j
		k := bytes.IndexByte(data[start+1:], '"')
		if k < 0 {
			break
		}
		end := start + 1 + k // the closing quote
		i = end + 1
		if !opensValue(data, start) {
			continue
		}
		t, ok := parseToken(data[start+1 : end])
		if !ok || !personalField[string(t.member)] { // no token is ever made for another member
			continue
		}
		got, err := o.lookup(ctx, t)
		if err != nil {
			return nil, err
		}
		var plain []byte
		switch {
		case got.erased:
			plain = erasedBytes
		case got.sl == nil || len(t.payload) == 0:
			continue
		default:
			if plain, o.raw, o.ad, ok = got.sl.open(o.raw, o.ad, id, t); !ok {
				continue
			}
		}
		if out == nil {
			out = make([]byte, 0, len(data))
		}
		out = append(out, data[last:start]...)
		out = appendJSONString(out, plain)
		last = i
	}
	if out == nil {
		return data, nil
	}
	return append(out, data[last:]...), nil
}

var erasedBytes = []byte(domain.Erased) // only ever read

func (o *opener) lookup(ctx context.Context, t token) (opened, error) {
	o.memoKey = append(append(append(o.memoKey[:0], t.subject...), 0), t.period...)
	if got, ok := o.memo[string(o.memoKey)]; ok {
		return got, nil
	}
	subject, period := string(t.subject), string(t.period)
	var got opened
	if CheckSubject(subject) == nil && (period == NoPeriod || CheckMonth(period) == nil) {
		sl, err := o.s.sealerFor(ctx, subject, period, false)
		switch {
		case errors.Is(err, ErrDestroyed):
			got.erased = true
		case errors.Is(err, ErrNoKey):
			// never had a key: not a token of ours
		case err != nil:
			// The key store cannot answer: fail the read rather than hand a token to a
			// reader as if it were the value.
			return opened{}, err
		default:
			got.sl = sl
		}
	}
	if o.memo == nil {
		o.memo = map[string]opened{}
	}
	o.memo[string(o.memoKey)] = got
	return got, nil
}

// opensValue reports whether the quote at data[start] opens a JSON string value: the byte
// before it, past white space, is ':', '[' or ','. A quote inside a string is escaped
// ("\""), so a token-like text inside another string is never taken for a token.
func opensValue(data []byte, start int) bool {
	for p := start - 1; p >= 0; p-- {
		switch data[p] {
		case ' ', '\t', '\n', '\r':
			continue
		case ':', '[', ',':
			return true
		default:
			return false
		}
	}
	return false
}

// appendJSONString appends s as a JSON string literal.
func appendJSONString(dst, s []byte) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, `\ufffd`...)
			} else if r == '\u2028' || r == '\u2029' {
				dst = append(dst, `\u202`...)
				dst = append(dst, hexDigits[r&0xf])
			} else {
				dst = append(dst, s[i:i+size]...)
			}
			i += size
			continue
		}
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			dst = append(dst, c)
		}
		i++
	}
	return append(dst, '"')
}
