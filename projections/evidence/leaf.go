package evidence

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"accountd/eventstore"
	"accountd/eventstore/transparency"
)

// Opening discloses one personal value of an event (an e-mail address, an IP address, a
// user agent, a device) that its leaf holds only as a salted commitment: the reports name
// people and origins, so the bundle opens the commitments they need. A verifier checks
// each opening against the leaf (transparency.CommitPersonal). An erased person's values
// (crypto-shredding) are simply not opened: their leaves and proofs stay valid.
type Opening struct {
	Field string `json:"field"`
	Value string `json:"value"`
}

// openings lists the personal values of a stored event, by field, once each.
func openings(rec eventstore.RecordedEvent) []Opening {
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
	return slices.Compact(out)
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
				if o.Field == field && transparency.CommitPersonal(id, field, o.Value) == x {
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
