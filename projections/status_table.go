package projections

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"maps"
	"math"
	"slices"
	"time"
	"unsafe"

	"accountd/domain"
)

// accountTable holds the status projection's accounts in a form the garbage collector never
// scans and a read touches in few cache lines: with a million accounts, a map of
// domain.Account values (each over 128 bytes, so stored out of line, with a string per ID,
// e-mail and property and a time.Time per instant) was about a gigabyte of pointers, which
// every GC cycle marked (seconds of CPU on this machine) and a read missed the caches and
// the TLB on five or six times. Here every account is one fixed-size, pointer-free record
// in one slice, its strings in one byte arena, and the two indexes are maps from a 64-bit
// hash of the key to the record's place: no pointer anywhere, so the runtime allocates all
// of it in noscan spans.
//
// A hash is not a key: two keys may share one. Lookups and inserts therefore probe h, h+1,
// h+2, ... (open addressing over the hash values) and compare the key stored in the
// record's arena bytes, until they find it or an absent hash. Entries are never removed, so
// a probe sequence never breaks.
//
// An account the packed form cannot hold exactly (an instant outside 1678-2262, in another
// location than UTC or with a monotonic reading; a secret withoutSecrets should have
// dropped) keeps its record in wide, a plain map, and its packed record only its keys: get
// returns every account exactly as put was given it.
//
// Not safe for concurrent use; Status guards it with its lock.
type accountTable struct {
	recs    []packedAccount
	arena   []byte // append only: strings handed out by get point into it (see str)
	garbage int    // arena bytes no record refers to any more
	byID    map[uint64]uint32
	byEmail map[uint64]uint32
	wide    map[string]accountRecord
	hash    func(string) uint64 // a seeded maphash; tests make keys collide with their own
	scratch []byte
}

// packedAccount is one account: the scalar fields of domain.Account, its instants as Unix
// nanoseconds, and where in the arena its strings are.
type packedAccount struct {
	position       uint64
	tail, tailLen  uint32 // arena bytes: id, e-mail key, e-mail, properties, disable records
	flags          uint32
	failedAttempts int64
	mfaFailed      int64
	mfaLastStep    int64
	times          [numTimes]int64
}

const (
	flagRegistered = 1 << iota
	flagActivated
	flagDeleted
	flagChangeRequired
	flagLocked
	flagMFAEnrolled
	flagMFAResetPending
	flagWide     // the account is wide[id]; only the keys in the tail are valid
	flagOwnID    // Account.ID differs from the ID it is indexed by, and follows the keys
	flagOwnEmail // Account.Email differs from its e-mail key, and follows the keys
)

// The keys at the start of every tail, for keyOf.
const (
	keyID = iota
	keyEmail
)

// Indexes into packedAccount.times.
const (
	tRegistered = iota
	tActivated
	tDeleted
	tPasswordChanged
	tChangeRequired
	tLastFailure
	tLocked
	tMFAEnrolled
	tMFACooldown
	tMFADeferred
	tMFAReset
	tFirstLogin
	tLastLogin
	numTimes
)

// zeroInstant stands for time.Time{} (year 1, outside what int64 nanoseconds reach).
const zeroInstant = math.MinInt64

func newAccountTable() *accountTable {
	seed := maphash.MakeSeed()
	return &accountTable{byID: map[uint64]uint32{}, byEmail: map[uint64]uint32{}, wide: map[string]accountRecord{},
		hash: func(key string) uint64 { return maphash.String(seed, key) }}
}

func (t *accountTable) len() int { return len(t.recs) }

// get returns the account with this ID.
func (t *accountTable) get(id string) (accountRecord, bool) {
	i, ok := t.find(t.byID, id, keyID)
	if !ok {
		return accountRecord{}, false
	}
	return t.unpack(i, id), true
}

// idByEmail returns the ID of the account whose normalised address is key.
func (t *accountTable) idByEmail(key string) (string, bool) {
	i, ok := t.find(t.byEmail, key, keyEmail)
	if !ok {
		return "", false
	}
	return t.keyOf(i, keyID), true
}

// email returns an account's address without unpacking the rest (the members list).
func (t *accountTable) email(id string) string {
	i, ok := t.find(t.byID, id, keyID)
	if !ok {
		return ""
	}
	if t.recs[i].flags&flagWide != 0 {
		return t.wide[id].Account.Email
	}
	return t.unpack(i, id).Account.Email
}

// put stores the account under id, and indexes it by emailKey when that is not empty.
func (t *accountTable) put(id, emailKey string, rec accountRecord) {
	var p packedAccount
	tail, ok := t.pack(&p, id, emailKey, rec)
	if !ok {
		t.wide[id] = rec
		p = packedAccount{flags: flagWide}
		tail = appendKeys(t.scratch[:0], id, emailKey)
	} else {
		delete(t.wide, id)
	}
	t.scratch = tail[:0]
	i, found := t.find(t.byID, id, keyID)
	if found {
		old := t.recs[i]
		if bytes.Equal(t.arena[old.tail:old.tail+old.tailLen], tail) {
			p.tail, p.tailLen = old.tail, old.tailLen
		} else {
			t.garbage += int(old.tailLen)
			p.tail, p.tailLen = t.appendTail(tail)
		}
		t.recs[i] = p
	} else {
		p.tail, p.tailLen = t.appendTail(tail)
		i = uint32(len(t.recs))
		t.recs = append(t.recs, p)
		t.insert(t.byID, id, i, keyID)
	}
	if emailKey != "" {
		t.insert(t.byEmail, emailKey, i, keyEmail)
	}
	if t.garbage > 1<<20 && t.garbage > len(t.arena)/2 {
		t.compact()
	}
}

func (t *accountTable) appendTail(tail []byte) (uint32, uint32) {
	if len(t.arena)+len(tail) > math.MaxUint32 {
		t.compact()
	}
	off := len(t.arena)
	t.arena = append(t.arena, tail...)
	return uint32(off), uint32(len(tail))
}

// compact copies the live tails into a new arena. Strings handed out earlier keep the old
// one alive and unchanged: the arena is never written where a string may point.
func (t *accountTable) compact() {
	live := len(t.arena) - t.garbage
	arena := make([]byte, 0, live+live/4)
	for i := range t.recs {
		r := &t.recs[i]
		off := len(arena)
		arena = append(arena, t.arena[r.tail:r.tail+r.tailLen]...)
		r.tail = uint32(off)
	}
	t.arena, t.garbage = arena, 0
}

// find follows key's probe sequence in index, which holds the records' nth key.
func (t *accountTable) find(index map[uint64]uint32, key string, nth int) (uint32, bool) {
	for h := t.hash(key); ; h++ {
		i, ok := index[h]
		if !ok {
			return 0, false
		}
		if t.keyOf(i, nth) == key {
			return i, true
		}
	}
}

// insert points key at record i: in the slot that already holds key, or the first absent
// hash of its probe sequence.
func (t *accountTable) insert(index map[uint64]uint32, key string, i uint32, nth int) {
	for h := t.hash(key); ; h++ {
		j, ok := index[h]
		if !ok || t.keyOf(j, nth) == key {
			index[h] = i
			return
		}
	}
}

func (t *accountTable) tailOf(i uint32) []byte {
	r := &t.recs[i]
	return t.arena[r.tail : r.tail+r.tailLen]
}

// keyOf is record i's nth key (keyID, keyEmail).
func (t *accountTable) keyOf(i uint32, nth int) string {
	r := tailReader{b: t.tailOf(i)}
	s := r.str()
	if nth == keyEmail {
		s = r.str()
	}
	return s
}

func appendKeys(b []byte, id, emailKey string) []byte {
	return appendStr(appendStr(b, id), emailKey)
}

func appendStr(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// pack fills p and returns the tail, or false when the packed form would not give back
// exactly rec.
func (t *accountTable) pack(p *packedAccount, id, emailKey string, rec accountRecord) ([]byte, bool) {
	a := &rec.Account
	if a.PasswordHash != "" || a.PasswordHistory != nil || a.Links != nil || a.Sessions != nil || a.MFA.Secret != nil || a.MFA.PendingSecret != nil {
		return nil, false
	}
	for i, tm := range [numTimes]time.Time{
		tRegistered: a.RegisteredAt, tActivated: a.ActivatedAt, tDeleted: a.DeletedAt,
		tPasswordChanged: a.PasswordChangedAt, tChangeRequired: a.ChangeRequiredAt,
		tLastFailure: a.LastFailureAt, tLocked: a.LockedAt, tMFAEnrolled: a.MFA.EnrolledAt,
		tMFACooldown: a.MFA.CooldownUntil, tMFADeferred: a.MFA.DeferredUntil, tMFAReset: a.MFA.ResetAt,
		tFirstLogin: a.FirstLoginAt, tLastLogin: a.LastLoginAt,
	} {
		n, ok := packInstant(tm)
		if !ok {
			return nil, false
		}
		p.times[i] = n
	}
	p.position = rec.Position
	p.failedAttempts, p.mfaFailed, p.mfaLastStep = int64(a.FailedAttempts), int64(a.MFA.FailedAttempts), a.MFA.LastUsedStep
	for _, f := range []struct {
		on   bool
		flag uint32
	}{{a.Registered, flagRegistered}, {a.Activated, flagActivated}, {a.Deleted, flagDeleted},
		{a.ChangeRequired, flagChangeRequired}, {a.Locked, flagLocked}, {a.MFA.Enrolled, flagMFAEnrolled},
		{a.MFA.ResetPending, flagMFAResetPending}} {
		if f.on {
			p.flags |= f.flag
		}
	}
	b := appendKeys(t.scratch[:0], id, emailKey)
	// The ID and the address are nearly always the keys themselves: stored once, then.
	if a.ID != id {
		p.flags |= flagOwnID
		b = appendStr(b, a.ID)
	}
	if a.Email != emailKey {
		p.flags |= flagOwnEmail
		b = appendStr(b, a.Email)
	}
	// Counts are stored plus one, so that nil and empty come back as they went in.
	b = binary.AppendUvarint(b, countOf(a.Properties == nil, len(a.Properties)))
	for _, pid := range a.Properties {
		b = appendStr(b, pid)
	}
	b = binary.AppendUvarint(b, countOf(a.Disabled == nil, len(a.Disabled)))
	// In a fixed order, so that an unchanged account gives the same tail (put reuses it).
	for _, kind := range slices.Sorted(maps.Keys(a.Disabled)) {
		d := a.Disabled[kind]
		since, ok := packInstant(d.Since)
		if !ok {
			return nil, false
		}
		b = appendStr(b, string(kind))
		b = binary.AppendVarint(b, since)
		b = appendStr(b, string(d.Actor.Kind))
		b = appendStr(b, d.Actor.AccountID)
		b = appendStr(b, d.Actor.Reference)
		b = appendStr(b, d.Actor.Note)
		b = appendStr(b, d.PropertyID)
	}
	return b, true
}

func countOf(isNil bool, n int) uint64 {
	if isNil {
		return 0
	}
	return uint64(n) + 1
}

// unpack rebuilds record i. Its strings point into the arena, which is never overwritten.
func (t *accountTable) unpack(i uint32, id string) accountRecord {
	p := &t.recs[i]
	if p.flags&flagWide != 0 {
		return t.wide[id]
	}
	r := tailReader{b: t.tailOf(i)}
	var a domain.Account
	a.ID, a.Email = r.str(), r.str() // the keys
	if p.flags&flagOwnID != 0 {
		a.ID = r.str()
	}
	if p.flags&flagOwnEmail != 0 {
		a.Email = r.str()
	}
	if n := r.uvarint(); n > 0 {
		a.Properties = make([]string, n-1)
		for j := range a.Properties {
			a.Properties[j] = r.str()
		}
	}
	if n := r.uvarint(); n > 0 {
		a.Disabled = make(map[domain.DisableKind]domain.DisableRecord, n-1)
		for range n - 1 {
			kind := domain.DisableKind(r.str())
			var d domain.DisableRecord
			d.Since = unpackInstant(r.varint())
			d.Actor.Kind = domain.ActorKind(r.str())
			d.Actor.AccountID, d.Actor.Reference, d.Actor.Note, d.PropertyID = r.str(), r.str(), r.str(), r.str()
			a.Disabled[kind] = d
		}
	}
	f := p.flags
	a.Registered, a.Activated, a.Deleted = f&flagRegistered != 0, f&flagActivated != 0, f&flagDeleted != 0
	a.ChangeRequired, a.Locked = f&flagChangeRequired != 0, f&flagLocked != 0
	a.MFA.Enrolled, a.MFA.ResetPending = f&flagMFAEnrolled != 0, f&flagMFAResetPending != 0
	a.FailedAttempts, a.MFA.FailedAttempts, a.MFA.LastUsedStep = int(p.failedAttempts), int(p.mfaFailed), p.mfaLastStep
	tm := &p.times
	a.RegisteredAt, a.ActivatedAt, a.DeletedAt = unpackInstant(tm[tRegistered]), unpackInstant(tm[tActivated]), unpackInstant(tm[tDeleted])
	a.PasswordChangedAt, a.ChangeRequiredAt = unpackInstant(tm[tPasswordChanged]), unpackInstant(tm[tChangeRequired])
	a.LastFailureAt, a.LockedAt = unpackInstant(tm[tLastFailure]), unpackInstant(tm[tLocked])
	a.MFA.EnrolledAt, a.MFA.CooldownUntil = unpackInstant(tm[tMFAEnrolled]), unpackInstant(tm[tMFACooldown])
	a.MFA.DeferredUntil, a.MFA.ResetAt = unpackInstant(tm[tMFADeferred]), unpackInstant(tm[tMFAReset])
	a.FirstLoginAt, a.LastLoginAt = unpackInstant(tm[tFirstLogin]), unpackInstant(tm[tLastLogin])
	return accountRecord{Account: a, Position: p.position}
}

// packInstant is t as Unix nanoseconds, when that gives back the same time.Time: UTC, no
// monotonic reading, within int64 nanoseconds of 1970.
func packInstant(t time.Time) (int64, bool) {
	if t.IsZero() {
		return zeroInstant, t == time.Time{}
	}
	n := t.UnixNano()
	return n, n != zeroInstant && unpackInstant(n) == t
}

func unpackInstant(n int64) time.Time {
	if n == zeroInstant {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// tailReader reads what pack appended. The tails are written only by pack, so it trusts
// them.
type tailReader struct{ b []byte }

func (r *tailReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	r.b = r.b[n:]
	return v
}

func (r *tailReader) varint() int64 {
	v, n := binary.Varint(r.b)
	r.b = r.b[n:]
	return v
}

// str returns the next string without copying it: the bytes are the arena's, which no one
// writes again (put appends, compact copies into a new array).
func (r *tailReader) str() string {
	n := r.uvarint()
	if n == 0 {
		return ""
	}
	s := unsafe.String(&r.b[0], int(n))
	r.b = r.b[n:]
	return s
}

// emailKey is what the table indexes an address under: its normalised form, or nothing for
// an account without one yet.
func emailKey(email string) string {
	if email == "" {
		return ""
	}
	return domain.NormaliseEmail(email)
}
