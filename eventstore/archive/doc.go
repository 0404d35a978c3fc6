// Package archive is the format of accountd's archive segments: sealed, signed ranges of
// the event log that have left the live database (accountd archive, eventstore/sqlite's
// Store.Seal) and that the store reads back transparently. This comment is the
// specification, exact to the byte, so that a third party can verify an archive without
// accountd; segment.go is the reference implementation.
//
// # Files
//
// An archive is a directory of segment files named
//
//	<first>-<last>.seg
//
// with first and last the segment's first and last log positions, in decimal, zero-padded
// to 20 digits. The segments of an archive cover positions 1..N without gap or overlap,
// in name order. Any other file is not part of the archive.
//
// # Segment
//
// A segment file is a text header, a signed checkpoint and a compressed body:
//
//	accountd archive segment v1\n
//	first <first>\n
//	last <last>\n
//	prev <hex>\n
//	head <hex>\n
//	frame <k>\n
//	<hex>\n            (k lines)
//	checkpoint <n>\n
//	<n bytes: the signed checkpoint note>
//	blocks <b> 256\n
//	<length>\n        (b lines)
//	body zstd <c> <u> <hex>\n
//	<c bytes: the body, b zstd frames (RFC 8878) one after the other>
//
// and nothing after the body. Numbers are decimal without sign or leading zeros (first,
// last, k, n, b, the lengths, c, u); <hex> is 64 lower-case hexadecimal digits (32 bytes). Every line ends
// with a single \n.
//
//   - prev is the hash chain value of position first-1 (32 zero bytes when first is 1);
//     head that of position last.
//   - The k frame hashes are the transparency tree's right edge at size first-1: the hashes
//     of the complete subtrees whose concatenation is the tree of the first first-1 leaves,
//     largest (leftmost) first, i.e. the tlog stored hashes at the indexes
//     accountd/eventstore/transparency.FrontierIndexes(first-1). k is the number of one
//     bits of first-1.
//   - The checkpoint is a C2SP signed note (golang.org/x/mod/sumdb/note, Ed25519) whose text
//     is a C2SP tlog-checkpoint: "<origin>\n<last>\n<base64 root>\n", the tree of the
//     first last leaves, signed by the node's transparency key (the key accountd keys
//     public prints; the origin is its name).
//   - The body is cut in blocks of 256 consecutive positions (the last one shorter), each
//     compressed on its own as one zstd frame with its content checksum, so that a reader
//     can decompress the block it needs alone. b is their number, ceil((last-first+1)/256),
//     and the b lengths are those of the frames, in order; they add up to c.
//   - c is the length of the compressed body, u its length decompressed (all blocks), and
//     <hex> the SHA-256 of the c compressed bytes.
//   - The signatures of the checkpoint are in canonical base64 (the unused low bits of a
//     last character zero), so that no byte of a segment can change unnoticed.
//
// # Body
//
// Decompressed, block i is the records of positions first+256*i onwards, up to 256 of
// them (all blocks together: last-first+1 records, one per position from first to last in
// order, with nothing between or after them). Integers are big-endian:
//
//	position      u64
//	revision      u64   the event's revision in its stream
//	id            16 bytes (the event ID, a UUID)
//	recorded_at   u64   Unix nanoseconds UTC, two's complement
//	stream        u32 length, then that many bytes (UTF-8)
//	type          u32 length, then bytes
//	flags         1 byte: bit 0 set when data is present, bit 1 when metadata is
//	              (a store may hold NULL apart from empty); other bits zero
//	data          u32 length, then bytes (length 0 when absent)
//	metadata      u32 length, then bytes (length 0 when absent)
//	hash          32 bytes: the event's hash chain value
//	tree count    1 byte m
//	tree hashes   m times 32 bytes
//
// These are the events exactly as the log stored them: the bytes of data and metadata
// (personal fields stay sealed as they were stored, accountd/eventstore/personal), and the
// fields the chain and the tree cover.
//
// # Verifying a segment
//
// A verifier holding the node's verifier key checks, for each segment:
//
//  1. The layout above, that the SHA-256 of the compressed body equals the header's, and
//     that each frame decompresses to exactly its block's records.
//  2. The chain: starting from h = prev, for each record in order, h = SHA-256(h ||
//     canonical bytes of the event) must equal its hash, where the canonical bytes are
//     0x01 | position u64 | revision u64 | id | recorded_at u64 | u32 len | stream | u32
//     len | type | u32 len | data | u32 len | metadata (accountd/eventstore.CanonicalBytes;
//     an absent payload counts as empty). The last h must equal head.
//  3. The tree: from the frame hashes (the tree of first-1 leaves), append each record's
//     leaf hash, SHA-256(0x00 || leaf bytes) with the leaf bytes of
//     accountd/eventstore/transparency.AppendLeaf (README, "Verifying accountd's
//     evidence"). Appending leaf number i (0-based, i = position-1) yields the leaf hash
//     and then one hash per trailing one bit of i, each SHA-256(0x01 || left || right)
//     merging the rightmost complete subtree with the new one: exactly the record's m tree
//     hashes, in that order (tlog's stored hashes of that record). The root of the
//     resulting tree, RFC 6962 style, is the root of size last.
//  4. The checkpoint: its signature verifies under the node's key, its size is last and its
//     root hash the root computed in 3.
//
// Across segments, each must start at the previous one's last+1, its prev must equal the
// previous head, and its frame the tree edge after the previous segment's last record
// (the first segment: first 1, prev zero, no frame hash). The live log then continues the
// last segment: its first event chains from the last head, and its tree extends the last
// root (an inclusion or consistency proof over the whole log verifies against a
// checkpoint signed before or after archival, since archiving changes no hash).
//
// # Compression
//
// zstd (github.com/klauspost/compress, any conforming decoder reads it): it decodes
// several times faster than gzip, which is what a read reaching into the archive pays,
// and packs the log's JSON events tightly: the demo's year takes about 170 bytes per
// event in segments against 578 in events.db (rows, indexes and tree hashes;
// BENCHMARKS.md).
package archive
