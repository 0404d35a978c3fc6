package evidence

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"accountd/domain"
	"accountd/eventstore"
	"accountd/eventstore/personal"
	"accountd/eventstore/transparency"
)

// Opening discloses one personal value of an event (an e-mail address, an IP address, a
// user agent, a device) that its leaf holds only as a salted commitment: the reports name
// people and origins, so the bundle opens the commitments they need. A verifier checks
// each opening against the leaf (transparency.CommitPersonal). An erased person's values
// (crypto-shredding) are simply not opened: their leaves and proofs stay valid.
//
// A value stored sealed (eventstore/personal) is committed to as its token, Sealed. Its
// opening discloses the value and Key, the key of its one subject and month, which a
// verifier opens the token with (personal.OpenDisclosed) to check that Value is what the log
// sealed. A value whose key was destroyed is disclosed as "[erased]", with no key.
type Opening struct {
	Field  string `json:"field"`
	Value  string `json:"value"`
	Sealed string `json:"sealed,omitempty"`
	Key    []byte `json:"key,omitempty"`
}

// committed is what the leaf commits to for this opening.
func (o Opening) committed() string {
	if o.Sealed != "" {
		return o.Sealed
	}
	return o.Value
}

// proves reports whether a sealed opening's value is the one its token holds: opened by its
// key, or "[erased]" with no key. (An erased value proves nothing, and claims nothing.)
func (o Opening) proves(id uuid.UUID) bool {
	if o.Sealed == "" {
		return true
	}
	if o.Key == nil {
		return o.Value == domain.Erased
	}
	v, err := personal.OpenDisclosed(o.Key, id, o.Sealed)
	return err == nil && v == o.Value
}

// Discloser opens the sealed values of a stored event for a bundle (personal.Store).
type Discloser interface {
	Disclose(ctx context.Context, id uuid.UUID, token string) (personal.Disclosure, error)
}

// openings lists the personal values of a stored event, by field, once each, each sealed
// one disclosed through disclose (nil: left as its token).
func openings(ctx context.Context, rec eventstore.RecordedEvent, disclose Discloser) ([]Opening, error) {
	var out []Opening
	for _, payload := range [][]byte{rec.Data, rec.Metadata} {
		var v any
		dec := json.NewDecoder(bytes.NewReader(payload))
		dec.UseNumber()
		if len(payload) == 0 || dec.Decode(&v) != nil {
			continue
		}
		collectPersonal("", v, false, &out)
	}
	slices.SortFunc(out, func(a, b Opening) int { return strings.Compare(a.Field+"\x00"+a.Value, b.Field+"\x00"+b.Value) })
	out = slices.CompactFunc(out, func(a, b Opening) bool { return a.Field == b.Field && a.Value == b.Value })
	if disclose == nil {
		return out, nil
	}
	for i, o := range out {
		if !strings.HasPrefix(o.Value, personal.TokenPrefix) {
			continue
		}
		d, err := disclose.Disclose(ctx, rec.ID, o.Value)
		switch {
		case errors.Is(err, personal.ErrNotToken):
			// A value that merely looks like a token is disclosed as it is stored.
		case errors.Is(err, personal.ErrDestroyed):
			out[i] = Opening{Field: o.Field, Value: domain.Erased, Sealed: o.Value}
		case err != nil:
			return nil, fmt.Errorf("evidence: disclose a sealed %s of position %d: %w", o.Field, rec.Position, err)
		default:
			out[i] = Opening{Field: o.Field, Value: d.Value, Sealed: o.Value, Key: d.Key}
		}
	}
	return out, nil
}

func collectPersonal(field string, v any, personal bool, out *[]Opening) {
	switch x := v.(type) {
	case map[string]any:
		for k, member := range x {
			collectPersonal(k, member, slices.Contains(transparency.PersonalFields, k), out)
		}
	case []any:
		for _, e := range x {
			collectPersonal(field, e, personal, out)
		}
	case string:
		if personal {
			*out = append(*out, Opening{Field: field, Value: x})
		}
	}
}

// leafEvent reads an event back from its leaf and the openings of its personal values:
// header fields as the leaf states them, payloads as the leaf's views with each opened
// commitment replaced by its value and each secret commitment removed (the compliance
// projection reads no secret). It returns the openings that match no commitment of the
// leaf, which a verifier reports.
func leafEvent(leaf []byte, opened []Opening) (eventstore.RecordedEvent, []Opening, error) {
	var rec eventstore.RecordedEvent
	r := leafReader{b: leaf}
	if v := r.bytes(1); len(v) != 1 || v[0] != transparency.LeafVersion {
		return rec, nil, fmt.Errorf("leaf version %v, this tool reads %d", v, transparency.LeafVersion)
	}
	rec.Position, rec.Revision = r.u64(), r.u64()
	copy(rec.ID[:], r.bytes(16))
	rec.RecordedAt = time.Unix(0, int64(r.u64())).UTC()
	rec.Stream, rec.Type = string(r.field()), string(r.field())
	dataView, metaView := r.field(), r.field()
	if r.err != nil || len(r.b) != 0 {
		return rec, nil, errors.New("leaf bytes do not have the leaf layout")
	}
	used := make([]bool, len(opened))
	var err error
	if rec.Data, err = openView(rec.ID, dataView, opened, used); err != nil {
		return rec, nil, fmt.Errorf("data: %w", err)
	}
	if rec.Metadata, err = openView(rec.ID, metaView, opened, used); err != nil {
		return rec, nil, fmt.Errorf("metadata: %w", err)
	}
	var unmatched []Opening
	for i, u := range used {
		if !u {
			unmatched = append(unmatched, opened[i])
		}
	}
	return rec, unmatched, nil
}

func openView(id uuid.UUID, view []byte, opened []Opening, used []bool) ([]byte, error) {
	if len(view) == 0 {
		return nil, nil
	}
	if view[0] != transparency.ViewJSON {
		return nil, errors.New("the payload is committed to by its hash alone")
	}
	dec := json.NewDecoder(bytes.NewReader(view[1:]))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return json.Marshal(openValue(id, "", v, opened, used))
}

func openValue(id uuid.UUID, field string, v any, opened []Opening, used []bool) any {
	switch x := v.(type) {
	case map[string]any:
		for k, member := range x {
			x[k] = openValue(id, k, member, opened, used)
		}
		return x
	case []any:
		for i := range x {
			x[i] = openValue(id, field, x[i], opened, used)
		}
		return x
	case string:
		switch {
		case strings.HasPrefix(x, transparency.SecretPrefix):
			return nil
		case strings.HasPrefix(x, transparency.PersonalPrefix):
			for i, o := range opened {
				if o.Field == field && transparency.CommitPersonal(id, field, o.committed()) == x && o.proves(id) {
					used[i] = true
					return o.Value
				}
			}
		}
	}
	return v
}

// leafReader reads the leaf layout's big-endian fields; the first error sticks.
type leafReader struct {
	b   []byte
	err error
}

func (r *leafReader) bytes(n int) []byte {
	if r.err != nil || n > len(r.b) {
		r.err = errors.New("short leaf")
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *leafReader) u64() uint64 {
	if v := r.bytes(8); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func (r *leafReader) field() []byte {
	v := r.bytes(4)
	if v == nil {
		return nil
	}
	return r.bytes(int(binary.BigEndian.Uint32(v)))
}
