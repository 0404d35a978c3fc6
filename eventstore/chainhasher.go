package eventstore

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
)

// ChainHasher computes ChainHash for a writer that hashes event after event. It feeds the
// canonical encoding to SHA-256 piece by piece instead of building it first, so hashing
// allocates nothing and a large payload is never copied. The zero value is ready to use;
// a ChainHasher is not safe for concurrent use.
type ChainHasher struct {
	h   hash.Hash
	buf []byte
	sum [sha256.Size]byte
}

// Hash returns ChainHash(previous, e).
func (c *ChainHasher) Hash(previous [32]byte, e RecordedEvent) [32]byte {
	if c.h == nil {
		c.h = sha256.New()
	}
	c.h.Reset()

	// previous, then the same bytes as CanonicalBytes, in the same order. previous goes
	// through the buffer too: handing its array to the hash directly would move it to
	// the heap on every call.
	b := append(c.buf[:0], previous[:]...)
	b = append(b, canonicalVersion)
	b = binary.BigEndian.AppendUint64(b, e.Position)
	b = binary.BigEndian.AppendUint64(b, e.Revision)
	b = append(b, e.ID[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(e.RecordedAt.UnixNano()))
	b = binary.BigEndian.AppendUint32(b, uint32(len(e.Stream)))
	b = append(b, e.Stream...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(e.Type)))
	b = append(b, e.Type...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(e.Data)))
	c.h.Write(b)
	c.h.Write(e.Data)
	b = binary.BigEndian.AppendUint32(b[:0], uint32(len(e.Metadata)))
	c.h.Write(b)
	c.h.Write(e.Metadata)
	c.buf = b

	c.h.Sum(c.sum[:0])
	return c.sum
}
