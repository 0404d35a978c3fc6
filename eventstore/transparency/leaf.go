package transparency

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"hash"

	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/tlog"

	"accountd/eventstore"
)

// LeafVersion is the first byte of every leaf, so that a later layout can be told apart.
const LeafVersion byte = 1

// The first byte of a non-empty payload view says how the payload is committed to.
const (
	// ViewJSON: a JSON payload, re-encoded with its secret and personal fields replaced
	// by commitments. The rest of the view is that JSON text.
	ViewJSON byte = 'J'
	// ViewOpaque: a payload that is not JSON is committed to by its SHA-256 alone. The
	// rest of the view is those 32 bytes.
	ViewOpaque byte = 'H'
)

// Commitment prefixes. A secret (a password's argon2id hash, a link's token hash, a sealed
// TOTP secret) is replaced by a plain SHA-256 commitment: it is high-entropy already, and
// whoever holds the secret can check it. A personal datum (an e-mail address, an IP
// address, a user agent, a device) is low-entropy, so its commitment is salted by the
// event ID and the field's name: one dictionary pass does not cover the whole log.
const (
	SecretPrefix   = "secret:sha256:"
	PersonalPrefix = "personal:sha256:"
	personalDomain = "accountd personal v1\x00"
)

// SecretFields and PersonalFields name the JSON members whose values never appear in a
// leaf, at any depth of an event's data or metadata. They are what the domain's events
// call these fields (domain/events.go); a new secret or personal field must be added here.
var (
	SecretFields = []string{"password_hash", "token_hash", "encrypted_secret", "nonce", "secret"}

	PersonalFields = []string{"email", "primary_contact_email", "email_hash", "ip", "user_agent",
		"device_id", "addresses", "devices"}
)

var fieldKind = func() map[string]byte {
	m := map[string]byte{}
	for _, f := range SecretFields {
		m[f] = 's'
	}
	for _, f := range PersonalFields {
		m[f] = 'p'
	}
	return m
}()

// View is the disclosed form of an event's data and metadata: what its leaf holds in
// place of the stored bytes. It depends only on the event ID and the payloads, so a
// writer can compute it before the event has a position.
type View struct {
	Data, Metadata []byte
}

// ViewOf computes the view of an event's payloads.
func ViewOf(id uuid.UUID, data, metadata []byte) View {
	return View{Data: payloadView(id, data), Metadata: payloadView(id, metadata)}
}

// payloadView: empty for an empty payload; 'J' + redacted JSON for a JSON payload; 'H' +
// SHA-256 otherwise. The JSON is decoded (numbers kept as written) and re-encoded by
// encoding/json: object keys sorted, no HTML escaping, no insignificant space. The leaf
// thus commits to what the payload says, not to how its bytes were spelled.
func payloadView(id uuid.UUID, payload []byte) []byte {
	if len(payload) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err == nil && !dec.More() {
		var out bytes.Buffer
		out.WriteByte(ViewJSON)
		enc := json.NewEncoder(&out)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(redact(id, "", v)); err == nil {
			return bytes.TrimSuffix(out.Bytes(), []byte("\n"))
		}
	}
	sum := sha256.Sum256(payload)
	return append([]byte{ViewOpaque}, sum[:]...)
}

// redact walks a decoded JSON value; field is the name of the member holding it ("" at
// the top, inherited by the elements of an array).
func redact(id uuid.UUID, field string, v any) any {
	if kind := fieldKind[field]; kind != 0 {
		return commitValue(id, field, kind, v)
	}
	switch x := v.(type) {
	case map[string]any:
		for k, member := range x {
			x[k] = redact(id, k, member)
		}
		return x
	case []any:
		for i := range x {
			x[i] = redact(id, field, x[i])
		}
		return x
	}
	return v
}

func commitValue(id uuid.UUID, field string, kind byte, v any) any {
	if arr, ok := v.([]any); ok {
		for i := range arr {
			arr[i] = commitValue(id, field, kind, arr[i])
		}
		return arr
	}
	if v == nil {
		return nil // an absent value discloses nothing
	}
	value, ok := v.(string)
	if !ok {
		b, _ := json.Marshal(v)
		value = string(b)
	}
	if kind == 's' {
		return CommitSecret(value)
	}
	return CommitPersonal(id, field, value)
}

// CommitSecret is the commitment that stands in a leaf for a secret value:
// "secret:sha256:" + base64(SHA-256(value)).
func CommitSecret(value string) string {
	sum := sha256.Sum256([]byte(value))
	return SecretPrefix + base64.StdEncoding.EncodeToString(sum[:])
}

// CommitPersonal is the commitment that stands in a leaf for a personal value:
// "personal:sha256:" + base64(SHA-256("accountd personal v1" 0x00 || event ID (16 bytes)
// || field || 0x00 || value)). Someone who knows the value (the auditor reading the
// access log, the person it belongs to) can check it; someone who holds only the leaf
// learns nothing but its length-free hash.
func CommitPersonal(id uuid.UUID, field, value string) string {
	h := sha256.New()
	h.Write([]byte(personalDomain))
	h.Write(id[:])
	h.Write([]byte(field))
	h.Write([]byte{0})
	h.Write([]byte(value))
	return PersonalPrefix + base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// LeafBytes is the leaf of a stored event:
//
//	version 0x01 (1 byte)
//	| position (u64) | revision (u64) | event ID (16 bytes)
//	| recorded_at, Unix nanoseconds UTC (i64)
//	| len(stream) (u32) | stream | len(type) (u32) | type
//	| len(data view) (u32) | data view | len(metadata view) (u32) | metadata view
//
// integers big-endian, strings UTF-8, views as ViewOf makes them.
func LeafBytes(e eventstore.RecordedEvent) []byte {
	return AppendLeaf(nil, e, ViewOf(e.ID, e.Data, e.Metadata))
}

// AppendLeaf appends the leaf of e, whose payload view v is already computed, to b. The
// event's own Data and Metadata are not read.
func AppendLeaf(b []byte, e eventstore.RecordedEvent, v View) []byte {
	b = append(b, LeafVersion)
	b = binary.BigEndian.AppendUint64(b, e.Position)
	b = binary.BigEndian.AppendUint64(b, e.Revision)
	b = append(b, e.ID[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(e.RecordedAt.UnixNano()))
	for _, field := range [][]byte{[]byte(e.Stream), []byte(e.Type), v.Data, v.Metadata} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(field)))
		b = append(b, field...)
	}
	return b
}

// LeafHash is the RFC 6962 leaf hash, SHA-256(0x00 || leaf).
func LeafHash(leaf []byte) tlog.Hash { return tlog.RecordHash(leaf) }

// LeafHasher computes leaf hashes for a writer hashing event after event, reusing its
// buffer. The zero value is ready; it is not safe for concurrent use.
type LeafHasher struct {
	h   hash.Hash
	buf []byte
}

// Hash returns LeafHash(AppendLeaf(nil, e, v)).
func (l *LeafHasher) Hash(e eventstore.RecordedEvent, v View) tlog.Hash {
	if l.h == nil {
		l.h = sha256.New()
	}
	l.h.Reset()
	l.buf = AppendLeaf(append(l.buf[:0], 0x00), e, v)
	l.h.Write(l.buf)
	var out tlog.Hash
	l.h.Sum(out[:0])
	return out
}
