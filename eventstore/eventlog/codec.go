// Package eventlog is how both sides read and write the log: the codec between domain events
// and stored ones (with the deterministic event IDs that make a re-sent command a no-op).
// The write side (commands) and the read side (projections) sit on it and never on each other.
package eventlog

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	fastjson "github.com/goccy/go-json"
	"github.com/google/uuid"

	"accountd/domain"
	"accountd/eventstore"
)

// eventIDSpace namespaces the deterministic event IDs derived from command IDs.
var eventIDSpace = uuid.MustParse("6f1c3b7e-2d4a-5e8f-9a1b-0c2d3e4f5a6b")

// EventID is the ID of the i-th event a command appends to a stream. Deriving it from the
// command ID makes a re-sent command produce the same IDs, which the store recognises as a
// retry of an append it already holds.
//
// Where the command ID is a UUIDv7, the event ID keeps its 48-bit time prefix: IDs then
// arrive roughly in order and the store's unique index on them grows at its end instead of
// dirtying a random page per event, which is what limits durable group-commit throughput
// (measured with 64 writers: about 33,000 events/s with random IDs, 45,000 to 53,000 with
// time-ordered ones). The rest stays a hash of the command, so a retry gets the same IDs.
func EventID(commandID, stream string, i int) uuid.UUID {
	id := uuid.NewSHA1(eventIDSpace, fmt.Appendf(nil, "%s\x00%s\x00%d", commandID, stream, i))
	root, _, _ := strings.Cut(commandID, "/")
	if cid, err := uuid.Parse(root); err == nil && cid.Version() == 7 {
		copy(id[:6], cid[:6])
		id[6] = 0x70 | id[6]&0x0f // version 7
		id[8] = 0x80 | id[8]&0x3f // RFC 9562 variant
	}
	return id
}

// NewCommandID mints a time-ordered command ID (UUIDv7), so the events it causes get
// time-ordered IDs too.
func NewCommandID() string { return uuid.Must(uuid.NewV7()).String() }

// Encode turns domain events into the store's form, with metadata naming the command.
func Encode(stream string, meta domain.Metadata, events []domain.Event) ([]eventstore.EventData, error) {
	out := make([]eventstore.EventData, len(events))
	for i, e := range events {
		typ, body, err := domain.EncodePayload(e.Data)
		if err != nil {
			return nil, err
		}
		m := meta
		m.OccurredAt = e.At.UTC()
		mb, err := json.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("encode metadata: %w", err)
		}
		out[i] = eventstore.EventData{ID: EventID(meta.CommandID, stream, i), Type: typ, Data: body, Metadata: mb}
	}
	return out, nil
}

// Decoded is a stored event read back as a domain event.
type Decoded struct {
	Event    domain.Event
	Meta     domain.Metadata
	Recorded eventstore.RecordedEvent
}

// Decode turns a stored event back into a domain event. The domain time is the recorded
// occurred_at, never the machine's clock at replay.
func Decode(r eventstore.RecordedEvent) (Decoded, error) {
	p, err := domain.DecodePayload(r.Type, r.Data)
	if err != nil {
		return Decoded{}, fmt.Errorf("%s@%d: %w", r.Stream, r.Revision, err)
	}
	var m domain.Metadata
	if len(r.Metadata) > 0 {
		if err := fastjson.Unmarshal(r.Metadata, &m); err != nil {
			return Decoded{}, fmt.Errorf("%s@%d: metadata: %w", r.Stream, r.Revision, err)
		}
	}
	at := m.OccurredAt
	if at.IsZero() {
		at = r.RecordedAt
	}
	return Decoded{Event: domain.Event{At: at.UTC(), Data: p}, Meta: m, Recorded: r}, nil
}

// OccurredAt is a stored event's domain time without decoding its payload: the metadata's
// occurred_at, or when it was stored, as Decode reads it (what archival judges age by).
func OccurredAt(r eventstore.RecordedEvent) time.Time {
	var m struct {
		OccurredAt time.Time `json:"occurred_at"`
	}
	if len(r.Metadata) > 0 && fastjson.Unmarshal(r.Metadata, &m) == nil && !m.OccurredAt.IsZero() {
		return m.OccurredAt.UTC()
	}
	return r.RecordedAt
}
