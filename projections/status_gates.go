package projections

import (
	"hash/maphash"
	"unsafe"

	"accountd/domain"
)

// propertyGates is what a status read needs of each property (whether billing or the
// subscription blocks its members, since when, and its position), packed like the
// accounts: one pointer-free record per property, found through a hashIndex. The full
// properties stay in Status.properties for the lists and for Apply; a read used to look a
// member's property up there, a Go map of values over 128 bytes (its directory, table,
// control word, slot, key and the value out of line: as many cache misses as the account's
// own lookup, with a million accounts in the model).
//
// A property whose instants the packed form cannot hold exactly is read from
// Status.properties instead (flagWide).
type propertyGates struct {
	recs  []packedGate // off the heap when large (offheap.go): grow only with regrowArray
	mem   *offHeap
	ids   []byte // append only: the property IDs, which never change
	index hashIndex
	hash  func(string) uint64
}

type packedGate struct {
	position          uint64
	id, idLen         uint32
	flags             uint32
	suspendedAt       int64
	restoredAt        int64
	subscriptionSince int64
}

const (
	gateAccessSuspended = 1 << iota
	gateSubscriptionSuspended
	gateSubscriptionCancelled
	gateWide
)

func newPropertyGates() *propertyGates {
	seed := maphash.MakeSeed()
	return &propertyGates{hash: func(key string) uint64 { return maphash.String(seed, key) }}
}

func (g *propertyGates) idOf(i uint32) string {
	r := &g.recs[i]
	if r.idLen == 0 {
		return ""
	}
	// The bytes are never written again: ids only grows by append.
	return unsafe.String(&g.ids[r.id], int(r.idLen))
}

// put records what the status needs of rec.
func (g *propertyGates) put(id string, rec propertyRecord) {
	p := &rec.Property
	gate := packedGate{position: rec.Position}
	var ok [3]bool
	gate.suspendedAt, ok[0] = packInstant(p.SuspendedAt)
	gate.restoredAt, ok[1] = packInstant(p.RestoredEffectiveAt)
	gate.subscriptionSince, ok[2] = packInstant(p.SubscriptionSince)
	if !ok[0] || !ok[1] || !ok[2] || p.ID != id {
		gate = packedGate{flags: gateWide}
	}
	if p.AccessSuspended {
		gate.flags |= gateAccessSuspended
	}
	switch p.Subscription {
	case domain.SubscriptionSuspended:
		gate.flags |= gateSubscriptionSuspended
	case domain.SubscriptionCancelled:
		gate.flags |= gateSubscriptionCancelled
	}
	if i, found := g.index.find(g.hash(id), id, g.idOf); found {
		gate.id, gate.idLen = g.recs[i].id, g.recs[i].idLen
		g.recs[i] = gate
		return
	}
	gate.id, gate.idLen = uint32(len(g.ids)), uint32(len(id))
	g.ids = append(g.ids, id...)
	if len(g.recs) == cap(g.recs) {
		g.recs, g.mem = regrowArray(g.recs, g.mem, max(256, 2*cap(g.recs)))
	}
	g.recs = append(g.recs, gate)
	g.index.insert(g.hash, id, uint32(len(g.recs)-1), g.idOf)
}

// get returns the property as far as domain.EvaluateStatus reads it (its ID, the
// subscription when it blocks, the suspension and its instants) and its position; wide
// when the caller must read the full property instead.
func (g *propertyGates) get(id string) (p domain.Property, position uint64, wide, ok bool) {
	i, ok := g.index.find(g.hash(id), id, g.idOf)
	if !ok {
		return domain.Property{}, 0, false, false
	}
	r := &g.recs[i]
	if r.flags&gateWide != 0 {
		return domain.Property{}, 0, true, true
	}
	p = domain.Property{ID: id, AccessSuspended: r.flags&gateAccessSuspended != 0,
		SuspendedAt: unpackInstant(r.suspendedAt), RestoredEffectiveAt: unpackInstant(r.restoredAt),
		SubscriptionSince: unpackInstant(r.subscriptionSince)}
	switch {
	case r.flags&gateSubscriptionSuspended != 0:
		p.Subscription = domain.SubscriptionSuspended
	case r.flags&gateSubscriptionCancelled != 0:
		p.Subscription = domain.SubscriptionCancelled
	}
	return p, r.position, false, true
}
