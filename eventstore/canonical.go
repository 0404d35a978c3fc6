package eventstore

import (
	"crypto/sha256"
	"encoding/binary"
)

// canonicalVersion is the first byte of every canonical encoding, so a future format can
// be told apart from this one without ambiguity.
const canonicalVersion byte = 1

// CanonicalBytes is the one encoding of a stored event that the hash chain covers. Every
// field is length-prefixed or fixed-width, so no two different events encode alike, and
// it depends on nothing a backend chooses (column types, JSON key order, time zones).
//
//	version(1) | position(u64) | revision(u64) | id(16) | recorded_at unix nanos UTC (i64)
//	| len(stream) u32 | stream | len(type) u32 | type | len(data) u32 | data
//	| len(metadata) u32 | metadata
func CanonicalBytes(e RecordedEvent) []byte {
	n := 1 + 8 + 8 + 16 + 8 + 4*4 + len(e.Stream) + len(e.Type) + len(e.Data) + len(e.Metadata)
	b := make([]byte, 0, n)
	b = append(b, canonicalVersion)
	b = binary.BigEndian.AppendUint64(b, e.Position)
	b = binary.BigEndian.AppendUint64(b, e.Revision)
	b = append(b, e.ID[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(e.RecordedAt.UnixNano()))
	for _, field := range [][]byte{[]byte(e.Stream), []byte(e.Type), e.Data, e.Metadata} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(field)))
		b = append(b, field...)
	}
	return b
}

// ChainHash is SHA-256(previous || CanonicalBytes(e)). The first event's previous hash is
// all zeros.
func ChainHash(previous [32]byte, e RecordedEvent) [32]byte {
	h := sha256.New()
	h.Write(previous[:])
	h.Write(CanonicalBytes(e))
	var out [32]byte
	h.Sum(out[:0])
	return out
}
