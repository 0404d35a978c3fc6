package streams

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"accountd/domain"
	"accountd/eventstore"
	"accountd/eventstore/eventlog"
)

// accountFacts is what a stream needs to know about an account beside one of its events:
// its e-mail (OCSF user.email_addr) and its properties (property filters).
type accountFacts struct {
	revision   uint64 // the last revision of the account's stream folded in
	email      string
	properties []string // sorted
}

// accountIndex answers accountFacts as of any event, from the log itself: a stream may start
// at any position (a checkpoint, a reset), so it cannot rely on having seen the account's
// registration. Facts are folded forward as events arrive in order and re-read from the
// account's stream after a gap or a jump back. The cache is bounded; a dropped entry is
// simply read again.
type accountIndex struct {
	store eventstore.Store
	limit int
	mu    sync.Mutex
	cache map[string]*accountFacts
}

const accountCacheLimit = 100_000

func newAccountIndex(store eventstore.Store) *accountIndex {
	return &accountIndex{store: store, limit: accountCacheLimit, cache: map[string]*accountFacts{}}
}

// accountOf is the account an event's stream belongs to ("" for other streams).
func accountOf(stream string) string {
	id, ok := strings.CutPrefix(stream, "account-")
	if !ok {
		return ""
	}
	return id
}

// at returns the facts of the account of d's stream just after d.
func (x *accountIndex) at(ctx context.Context, d eventlog.Decoded) (accountFacts, error) {
	id := accountOf(d.Recorded.Stream)
	if id == "" {
		return accountFacts{}, nil
	}
	rev := d.Recorded.Revision
	x.mu.Lock()
	f, ok := x.cache[id]
	x.mu.Unlock()
	switch {
	case ok && f.revision == rev:
		return *f, nil
	case ok && f.revision+1 == rev:
		next := foldFacts(*f, d.Event.Data)
		next.revision = rev
		f = &next
	default:
		read, err := x.read(ctx, d.Recorded.Stream, rev)
		if err != nil {
			return accountFacts{}, err
		}
		f = &read
	}
	x.mu.Lock()
	if len(x.cache) >= x.limit {
		clear(x.cache)
	}
	x.cache[id] = f
	x.mu.Unlock()
	return *f, nil
}

// read folds the account's stream from its first event up to revision upTo.
func (x *accountIndex) read(ctx context.Context, stream string, upTo uint64) (accountFacts, error) {
	var f accountFacts
	for from := uint64(0); from <= upTo; {
		recs, err := x.store.ReadStream(ctx, stream, from, int(min(upTo-from+1, 512)))
		if err != nil {
			return f, fmt.Errorf("streams: facts of %s: %w", stream, err)
		}
		if len(recs) == 0 {
			break
		}
		for _, rec := range recs {
			if !factTypes[rec.Type] {
				continue
			}
			d, err := eventlog.Decode(rec)
			if err != nil {
				return f, fmt.Errorf("streams: facts of %s: %w", stream, err)
			}
			f = foldFacts(f, d.Event.Data)
		}
		from = recs[len(recs)-1].Revision + 1
	}
	f.revision = upTo
	return f, nil
}

var factTypes = map[string]bool{
	domain.AccountRegistered{}.EventType():    true,
	domain.LinkedToProperty{}.EventType():     true,
	domain.UnlinkedFromProperty{}.EventType(): true,
	domain.AccountErased{}.EventType():        true,
}

func foldFacts(f accountFacts, p domain.Payload) accountFacts {
	switch e := p.(type) {
	case domain.AccountRegistered:
		f.email = e.Email
		if domain.IsErased(f.email) {
			f.email = "" // absent: an event of an erased account names no address
		}
		if e.PropertyID != "" {
			f.properties = insertSorted(f.properties, e.PropertyID)
		}
	case domain.LinkedToProperty:
		f.properties = insertSorted(f.properties, e.PropertyID)
	case domain.AccountErased:
		// From the erasure on (its own event included) the account's events go out without
		// the address, though a cached fact or an unshredded log still has it.
		f.email = ""
	case domain.UnlinkedFromProperty:
		if i, ok := slices.BinarySearch(f.properties, e.PropertyID); ok {
			f.properties = slices.Delete(slices.Clone(f.properties), i, i+1)
		}
	}
	return f
}

// insertSorted never changes the slice it is given: cached facts are shared by copies.
func insertSorted(s []string, v string) []string {
	i, ok := slices.BinarySearch(s, v)
	if ok {
		return s
	}
	return slices.Insert(slices.Clone(s), i, v)
}
