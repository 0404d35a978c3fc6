package projections

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"maps"
	"math"
	"slices"
	"strings"
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
// in one slice, its strings in one byte arena, and the two indexes (by ID, by normalised
// address) hash tables of words: no pointer anywhere, so the runtime allocates all of it in
// noscan spans.
//
// A hash is not a key: two keys may share one. Lookups and inserts therefore compare the
// key stored in the record's arena bytes. Entries are never removed, so a probe sequence
// never breaks; an address that no longer is its record's key simply stops matching.
//
// An account the packed form cannot hold exactly (an instant outside 1678-2262, in another
// location than UTC or with a monotonic reading; a secret withoutSecrets should have
// dropped) keeps its record in wide, a plain map, and its packed record only its keys: get
// returns every account exactly as put was given it.
//
// Not safe for concurrent use; Status guards it with its lock.
type accountTable struct {
	recs    []packedAccount // off the heap when large (offheap.go): grow only with regrowArray
	recsMem *offHeap
	arena   []byte // append only: strings handed out by get point into it (see str)
	garbage int    // arena bytes no record refers to any more
	byID    hashIndex
	byEmail hashIndex
	wide    map[string]accountRecord
	hash    func(string) uint64 // a seeded maphash; tests make keys collide with their own
	scratch []byte
}

// packedAccount is one account: the scalar fields of domain.Account, its instants as Unix
// nanoseconds, and where in the arena its strings are.
type packedAccount struct {
	position       uint64
	tail, tailLen  uint32 // id, e-mail key, e-mail, properties, disable records
	flags          uint32
	failedAttempts int64
	mfaFailed      int64
	mfaLastStep    int64
	times          [numTimes]int64
	// inline holds the tail when it fits (flagInline; nearly always: an ID, an address and
	// a property or two), so that a read finds the keys and the rest in the record's own
	// cache lines instead of missing once more in the arena. Its size makes the record 256
	// bytes: records never straddle a page, nor (the slice being page-aligned) a line more
	// than they must.
	inline [inlineTail]byte
}

const inlineTail = 92

const (
	flagRegistered = 1 << iota
	flagActivated
	flagDeleted
	flagErased
	flagChangeRequired
	flagLocked
	flagMFAEnrolled
	flagMFAResetPending
	flagWide     // the account is wide[id]; only the keys in the tail are valid
	flagOwnID    // Account.ID differs from the ID it is indexed by, and follows the keys
	flagOwnEmail // Account.Email differs from its e-mail key, and follows the keys
	flagInline   // the tail is in the record's inline bytes, not in the arena
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
	tErased
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
	return &accountTable{wide: map[string]accountRecord{},
		hash: func(key string) uint64 { return maphash.String(seed, key) }}
}

func (t *accountTable) len() int { return len(t.recs) }

// get returns the account with this ID.
func (t *accountTable) get(id string) (accountRecord, bool) {
	i, ok := t.find(&t.byID, id, keyID)
	if !ok {
		return accountRecord{}, false
	}
	return t.unpack(i, id), true
}

// idByEmail returns the ID of the account whose normalised address is key.
func (t *accountTable) idByEmail(key string) (string, bool) {
	i, ok := t.find(&t.byEmail, key, keyEmail)
	if !ok {
		return "", false
	}
	return strings.Clone(t.keyOf(i, keyID)), true // keyOf may point into the record
}

// email returns an account's address without unpacking the rest (the members list).
func (t *accountTable) email(id string) string {
	i, ok := t.find(&t.byID, id, keyID)
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
	i, found := t.find(&t.byID, id, keyID)
	inline := len(tail) <= inlineTail
	if inline {
		p.flags |= flagInline
		p.tailLen = uint32(copy(p.inline[:], tail))
	}
	if found {
		old := &t.recs[i]
		switch {
		case old.flags&flagInline != 0:
			if !inline {
				p.tail, p.tailLen = t.appendTail(tail)
			}
		case inline:
			t.garbage += int(old.tailLen)
		case bytes.Equal(t.arena[old.tail:old.tail+old.tailLen], tail):
			p.tail, p.tailLen = old.tail, old.tailLen
		default:
			t.garbage += int(old.tailLen)
			p.tail, p.tailLen = t.appendTail(tail)
		}
		t.recs[i] = p
	} else {
		if !inline {
			p.tail, p.tailLen = t.appendTail(tail)
		}
		i = uint32(len(t.recs))
		if len(t.recs) == cap(t.recs) {
			t.recs, t.recsMem = regrowArray(t.recs, t.recsMem, max(1024, 2*cap(t.recs)))
		}
		t.recs = append(t.recs, p)
		t.insert(&t.byID, id, i, keyID)
	}
	if emailKey != "" {
		t.insert(&t.byEmail, emailKey, i, keyEmail)
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
		if r.flags&flagInline != 0 {
			continue
		}
		off := len(arena)
		arena = append(arena, t.arena[r.tail:r.tail+r.tailLen]...)
		r.tail = uint32(off)
	}
	t.arena, t.garbage = arena, 0
}

// hashIndex finds records by a key's hash: open addressing with linear probing over one
// slice of words, each the record's place (plus one; zero is an empty slot) above 32 bits
// of the key's hash. A lookup reads one cache line where a Go map of this size reads its
// directory, its table, the group's control word and the slot, all in different lines.
// It is at most half full, so a probe sequence is short.
type hashIndex struct {
	slots []uint64 // off the heap when large (offheap.go)
	mem   *offHeap
	n     int
}

func indexSlot(i uint32, h uint64) uint64 { return uint64(i+1)<<32 | h>>32 }

// find follows key's probe sequence in index, which holds the records' nth key.
func (t *accountTable) find(index *hashIndex, key string, nth int) (uint32, bool) {
	return index.find(t.hash(key), key, func(i uint32) string { return t.keyOf(i, nth) })
}

// insert points key at record i.
func (t *accountTable) insert(index *hashIndex, key string, i uint32, nth int) {
	index.insert(t.hash, key, i, func(i uint32) string { return t.keyOf(i, nth) })
}

// find returns the record whose key (keyOf) is key, h its hash. A slot whose 32 bits of
// hash match is a candidate only: the record's key decides.
func (x *hashIndex) find(h uint64, key string, keyOf func(uint32) string) (uint32, bool) {
	if len(x.slots) == 0 {
		return 0, false
	}
	mask := uint64(len(x.slots) - 1)
	for s := h & mask; ; s = (s + 1) & mask {
		e := x.slots[s]
		if e == 0 {
			return 0, false
		}
		if uint32(e) == uint32(h>>32) {
			if i := uint32(e>>32) - 1; keyOf(i) == key {
				return i, true
			}
		}
	}
}

// insert points key at record i: in the slot that already holds key, or the first empty
// one of its probe sequence.
func (x *hashIndex) insert(hash func(string) uint64, key string, i uint32, keyOf func(uint32) string) {
	if 2*(x.n+1) > len(x.slots) {
		x.grow(hash, keyOf)
	}
	h := hash(key)
	mask := uint64(len(x.slots) - 1)
	for s := h & mask; ; s = (s + 1) & mask {
		e := x.slots[s]
		if e == 0 {
			x.slots[s] = indexSlot(i, h)
			x.n++
			return
		}
		if uint32(e) == uint32(h>>32) && keyOf(uint32(e>>32)-1) == key {
			x.slots[s] = indexSlot(i, h)
			return
		}
	}
}

// grow doubles the index, hashing every key again from its record (the slots keep only
// half of each hash).
func (x *hashIndex) grow(hash func(string) uint64, keyOf func(uint32) string) {
	old, oldMem := x.slots, x.mem
	x.slots, x.mem = makeArray[uint64](max(1024, 2*len(old)))
	defer oldMem.free()
	mask := uint64(len(x.slots) - 1)
	for _, e := range old {
		if e == 0 {
			continue
		}
		s := hash(keyOf(uint32(e>>32)-1)) & mask
		for x.slots[s] != 0 {
			s = (s + 1) & mask
		}
		x.slots[s] = e
	}
}

// tailOf is record i's tail: in the record or in the arena. Bytes in the record change with
// the next put: what outlives the lock must be copied (unpack, idByEmail).
func (t *accountTable) tailOf(i uint32) []byte {
	r := &t.recs[i]
	if r.flags&flagInline != 0 {
		return r.inline[:r.tailLen]
	}
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
		tRegistered: a.RegisteredAt, tActivated: a.ActivatedAt, tDeleted: a.DeletedAt, tErased: a.ErasedAt,
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
	}{{a.Registered, flagRegistered}, {a.Activated, flagActivated}, {a.Deleted, flagDeleted}, {a.Erased, flagErased},
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
	b := t.tailOf(i)
	if p.flags&flagInline != 0 {
		// One copy of the whole tail, which nothing writes again, for all its strings.
		c := string(b)
		b = unsafe.Slice(unsafe.StringData(c), len(c))
	}
	r := tailReader{b: b}
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
	a.Registered, a.Activated, a.Deleted, a.Erased = f&flagRegistered != 0, f&flagActivated != 0, f&flagDeleted != 0, f&flagErased != 0
	a.ChangeRequired, a.Locked = f&flagChangeRequired != 0, f&flagLocked != 0
	a.MFA.Enrolled, a.MFA.ResetPending = f&flagMFAEnrolled != 0, f&flagMFAResetPending != 0
	a.FailedAttempts, a.MFA.FailedAttempts, a.MFA.LastUsedStep = int(p.failedAttempts), int(p.mfaFailed), p.mfaLastStep
	tm := &p.times
	a.RegisteredAt, a.ActivatedAt, a.DeletedAt = unpackInstant(tm[tRegistered]), unpackInstant(tm[tActivated]), unpackInstant(tm[tDeleted])
	a.ErasedAt = unpackInstant(tm[tErased])
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
// writes again (put appends, compact copies into a new array), or a copy of the record's
// inline tail (unpack), or the record's own, read under the lock and not kept (keyOf).
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
	// Many erased accounts read "[erased]": it is no address, and finds none of them.
	if email == "" || domain.IsErased(email) {
		return ""
	}
	return domain.NormaliseEmail(email)
}
