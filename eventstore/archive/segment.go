package archive

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"accountd/eventstore"
	"accountd/eventstore/transparency"
)

// ErrBadSegment: a segment that does not parse, whose hashes do not match its events, or
// whose checkpoint no given key verifies. Every such error is a *SegmentError naming the file.
var ErrBadSegment = errors.New("archive: bad segment")

// SegmentError names the segment (its file, or its leaf range when it has none yet) and
// what is wrong with it.
type SegmentError struct {
	File   string
	Reason string
}

func (e *SegmentError) Error() string {
	return fmt.Sprintf("archive: segment %s: %s", e.File, e.Reason)
}

func (e *SegmentError) Is(target error) bool { return target == ErrBadSegment }

// Magic is the first line of every segment file, version included.
const Magic = "accountd archive segment v1\n"

// Ext is the file name extension of segments; FileName gives the whole name.
const Ext = ".seg"

// FileName is the name of the segment holding positions first..last: both zero-padded to
// 20 digits, so that names sort in log order.
func FileName(first, last uint64) string {
	return fmt.Sprintf("%020d-%020d%s", first, last, Ext)
}

// ParseFileName reads a name FileName made.
func ParseFileName(name string) (first, last uint64, ok bool) {
	base, found := strings.CutSuffix(name, Ext)
	a, b, cut := strings.Cut(base, "-")
	if !found || !cut || len(a) != 20 || len(b) != 20 {
		return 0, 0, false
	}
	first, err1 := strconv.ParseUint(a, 10, 64)
	last, err2 := strconv.ParseUint(b, 10, 64)
	return first, last, err1 == nil && err2 == nil && first >= 1 && last >= first
}

// Segment is a sealed, contiguous range of the log: the events of positions First..Last
// exactly as the store held them (hash-chain and tree fields included), what a verifier
// needs to recompute both from the segment alone (the chain hash before First and the
// tree's right edge at size First-1), and a checkpoint of the tree at size Last signed by
// the node.
type Segment struct {
	First, Last uint64
	Prev        [32]byte    // chain hash of position First-1 (zero for First = 1)
	Head        [32]byte    // chain hash of position Last
	Frontier    []tlog.Hash // transparency.FrontierIndexes(First-1), in that order
	Checkpoint  []byte      // a signed note: transparency checkpoint of size Last
	Events      []eventstore.RecordedEvent
	Trees       [][]tlog.Hash // each event's stored tree hashes, as the store keeps them

	// Blocks locate the body's zstd frames in the file (set by Encode, Decode and
	// ReadIndex): block i holds positions First+i*BlockEvents onwards, so a reader can
	// decompress the part it needs alone (ReadBlock).
	Blocks      []Block
	BlockEvents int
}

// Block is one zstd frame of a segment's body.
type Block struct {
	First  uint64 // its first position
	Count  int    // its events
	Offset int64  // where its frame starts in the file
	Len    int    // the frame's length
}

// BlockEvents is how many events Encode puts in one zstd frame: a read of one account's
// archived events decompresses only the frames holding them.
const BlockEvents = 256

// Build seals events (consecutive positions) into a segment: prev is the chain hash
// before the first, frontier the tree's right edge before it. It checks the events
// against both, so a segment is never signed over a log that does not verify, and signs
// a checkpoint of the tree after the last event with signers (the node's key first).
func Build(events []eventstore.RecordedEvent, trees [][]tlog.Hash, prev [32]byte, frontier []tlog.Hash, signers ...note.Signer) (*Segment, error) {
	if len(events) == 0 || len(trees) != len(events) || len(signers) == 0 {
		return nil, fmt.Errorf("%w: build needs events, their tree hashes and a signer", ErrBadSegment)
	}
	s := &Segment{First: events[0].Position, Last: events[len(events)-1].Position, Prev: prev,
		Frontier: frontier, Events: events, Trees: trees}
	s.Head = events[len(events)-1].Hash
	root, err := s.check()
	if err != nil {
		return nil, err
	}
	cp := transparency.Checkpoint{Origin: signers[0].Name(), Size: int64(s.Last), Hash: root}
	if s.Checkpoint, err = transparency.SignCheckpoint(cp, signers...); err != nil {
		return nil, err
	}
	return s, nil
}

// End is where a verified segment leaves the log: the next segment, or the live log,
// continues from it.
type End struct {
	Position uint64
	Hash     [32]byte    // chain hash of Position
	Frontier []tlog.Hash // transparency.FrontierIndexes(Position)
}

// Verify recomputes the segment's chain and tree from its events and checks its checkpoint
// against verifiers (the node's public key). It returns where the segment ends.
func (s *Segment) Verify(verifiers ...note.Verifier) (End, error) {
	root, err := s.check()
	if err != nil {
		return End{}, err
	}
	cp, n, err := transparency.OpenCheckpoint(s.Checkpoint, verifiers...)
	if err != nil {
		return End{}, s.errorf("checkpoint: %v", err)
	}
	// base64 ignores the unused low bits of a signature's last character, so the same
	// signature has several spellings: only the canonical one is part of the format, and
	// every byte of a segment matters.
	for _, sig := range append(n.Sigs, n.UnverifiedSigs...) {
		raw, err := base64.StdEncoding.DecodeString(sig.Base64)
		if err != nil || base64.StdEncoding.EncodeToString(raw) != sig.Base64 {
			return End{}, s.errorf("checkpoint: signature by %s is not in canonical base64", sig.Name)
		}
	}
	if cp.Size != int64(s.Last) || cp.Hash != root {
		return End{}, s.errorf("checkpoint signs tree size %d root %x, the events give size %d root %x", cp.Size, cp.Hash[:], s.Last, root[:])
	}
	return s.End()
}

// End is where the segment leaves the log, without verifying anything.
func (s *Segment) End() (End, error) {
	f, err := s.frontier()
	if err != nil {
		return End{}, err
	}
	// Each event's first stored tree hash is its leaf hash (check recomputes them).
	for i := range s.Events {
		if len(s.Trees[i]) == 0 {
			return End{}, s.errorf("position %d has no stored tree hash", s.Events[i].Position)
		}
		f.Append(s.Trees[i][0])
	}
	return End{Position: s.Last, Hash: s.Head, Frontier: f.Hashes()}, nil
}

// Follows checks that s continues the log exactly where prev ended.
func (s *Segment) Follows(prev End) error {
	if s.First != prev.Position+1 {
		return s.errorf("starts at position %d, the log before it ends at %d", s.First, prev.Position)
	}
	if s.Prev != prev.Hash {
		return s.errorf("chain link: previous hash %x, the log before it ends with %x", s.Prev[:], prev.Hash[:])
	}
	if len(s.Frontier) != len(prev.Frontier) {
		return s.errorf("tree edge holds %d hashes, the log before it %d", len(s.Frontier), len(prev.Frontier))
	}
	for i := range s.Frontier {
		if s.Frontier[i] != prev.Frontier[i] {
			return s.errorf("tree edge hash %d differs from the log before it", i)
		}
	}
	return nil
}

func (s *Segment) name() string { return FileName(s.First, s.Last) }

func (s *Segment) errorf(format string, args ...any) error {
	return &SegmentError{File: s.name(), Reason: fmt.Sprintf(format, args...)}
}

func (s *Segment) frontier() (transparency.Frontier, error) {
	size := int64(s.First - 1)
	want := transparency.FrontierIndexes(size)
	if len(want) != len(s.Frontier) {
		return transparency.Frontier{}, s.errorf("tree edge at size %d needs %d hashes, the segment holds %d", size, len(want), len(s.Frontier))
	}
	return transparency.LoadFrontier(size, tlog.HashReaderFunc(func([]int64) ([]tlog.Hash, error) {
		return s.Frontier, nil
	}))
}

func unixUTC(nanos int64) time.Time { return time.Unix(0, nanos).UTC() }

// check recomputes the chain and the stored tree hashes and returns the tree's root
// after the last event.
func (s *Segment) check() (tlog.Hash, error) {
	if s.First < 1 || s.Last < s.First || uint64(len(s.Events)) != s.Last-s.First+1 || len(s.Trees) != len(s.Events) {
		return tlog.Hash{}, s.errorf("leaf range %d..%d holds %d events", s.First, s.Last, len(s.Events))
	}
	f, err := s.frontier()
	if err != nil {
		return tlog.Hash{}, err
	}
	var chain eventstore.ChainHasher
	var leaves transparency.LeafHasher
	h := s.Prev
	var buf []tlog.Hash
	for i, e := range s.Events {
		if e.Position != s.First+uint64(i) {
			return tlog.Hash{}, s.errorf("event %d has position %d, want %d", i, e.Position, s.First+uint64(i))
		}
		if chain.Hash(h, e) != e.Hash {
			return tlog.Hash{}, s.errorf("position %d: stored chain hash differs from the one recomputed from the event", e.Position)
		}
		h = e.Hash
		buf = f.AppendTo(buf[:0], leaves.Hash(e, transparency.ViewOf(e.ID, e.Data, e.Metadata)))
		if len(buf) != len(s.Trees[i]) {
			return tlog.Hash{}, s.errorf("position %d: %d stored tree hashes, want %d", e.Position, len(s.Trees[i]), len(buf))
		}
		for j := range buf {
			if buf[j] != s.Trees[i][j] {
				return tlog.Hash{}, s.errorf("position %d: stored tree hash %d differs from the one recomputed", e.Position, j)
			}
		}
	}
	if h != s.Head {
		return tlog.Hash{}, s.errorf("head chain hash %x, the last event's is %x", s.Head[:], h[:])
	}
	return f.Root(), nil
}

// Encode is the segment's file: see the package documentation for its exact bytes.
func (s *Segment) Encode() ([]byte, error) {
	var compressed, raw []byte
	var lens []int
	total := 0
	for from := 0; from < len(s.Events); from += BlockEvents {
		raw = raw[:0]
		for i := from; i < min(from+BlockEvents, len(s.Events)); i++ {
			raw = appendRecord(raw, s.Events[i], s.Trees[i])
		}
		total += len(raw)
		before := len(compressed)
		compressed = encoder.EncodeAll(raw, compressed)
		lens = append(lens, len(compressed)-before)
	}
	sum := sha256.Sum256(compressed)

	var b bytes.Buffer
	b.WriteString(Magic)
	fmt.Fprintf(&b, "first %d\nlast %d\nprev %x\nhead %x\nframe %d\n", s.First, s.Last, s.Prev[:], s.Head[:], len(s.Frontier))
	for _, h := range s.Frontier {
		fmt.Fprintf(&b, "%x\n", h[:])
	}
	fmt.Fprintf(&b, "checkpoint %d\n", len(s.Checkpoint))
	b.Write(s.Checkpoint)
	fmt.Fprintf(&b, "blocks %d %d\n", len(lens), BlockEvents)
	for _, n := range lens {
		fmt.Fprintf(&b, "%d\n", n)
	}
	fmt.Fprintf(&b, "body zstd %d %d %x\n", len(compressed), total, sum[:])
	s.BlockEvents = BlockEvents
	s.Blocks = layBlocks(s.First, s.Last, BlockEvents, lens, int64(b.Len()))
	b.Write(compressed)
	return b.Bytes(), nil
}

// maxBody bounds the decompressed body a segment may claim, so a corrupt length cannot
// make a reader allocate without end.
const maxBody = 1 << 31

var (
	encoder, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBetterCompression), zstd.WithEncoderConcurrency(1))
	decoder, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(maxBody))
)

func layBlocks(first, last uint64, size int, lens []int, offset int64) []Block {
	out := make([]Block, len(lens))
	for i, n := range lens {
		f := first + uint64(i*size)
		out[i] = Block{First: f, Count: int(min(uint64(size), last-f+1)), Offset: offset, Len: n}
		offset += int64(n)
	}
	return out
}

// Decode parses a segment file named name (for errors). It checks the layout and the
// body's SHA-256, not the chain, tree or signature: Verify does.
func Decode(name string, file []byte) (*Segment, error) {
	s, body, blen, sum, err := decodeHeader(name, file, int64(len(file)))
	if err != nil {
		return nil, err
	}
	bad := func(format string, args ...any) error {
		return &SegmentError{File: name, Reason: fmt.Sprintf(format, args...)}
	}
	if len(body) != s.bodyLen() {
		return nil, bad("body: %d bytes, the header says %d", len(body), s.bodyLen())
	}
	if sha256.Sum256(body) != sum {
		return nil, bad("body: SHA-256 differs from the header's")
	}
	count := s.Last - s.First + 1
	if count > uint64(blen)/64+1 {
		return nil, bad("body: %d bytes cannot hold %d events", blen, count)
	}
	s.Events = make([]eventstore.RecordedEvent, 0, count)
	s.Trees = make([][]tlog.Hash, 0, count)
	raw := 0
	for _, bl := range s.Blocks {
		events, trees, n, err := decodeBlock(name, s, bl, file[bl.Offset:bl.Offset+int64(bl.Len)])
		if err != nil {
			return nil, err
		}
		raw += n
		s.Events = append(s.Events, events...)
		s.Trees = append(s.Trees, trees...)
	}
	if raw != blen {
		return nil, bad("body: %d bytes decompressed, the header says %d", raw, blen)
	}
	return s, nil
}

func (s *Segment) bodyLen() int {
	n := 0
	for _, b := range s.Blocks {
		n += b.Len
	}
	return n
}

// decodeBlock decompresses and parses one block's frame.
func decodeBlock(name string, s *Segment, bl Block, frame []byte) ([]eventstore.RecordedEvent, [][]tlog.Hash, int, error) {
	bad := func(format string, args ...any) error {
		return &SegmentError{File: name, Reason: fmt.Sprintf(format, args...)}
	}
	body, err := decoder.DecodeAll(frame, nil)
	if err != nil {
		return nil, nil, 0, bad("body: block at position %d: decompress: %v", bl.First, err)
	}
	n := len(body)
	events := make([]eventstore.RecordedEvent, 0, bl.Count)
	trees := make([][]tlog.Hash, 0, bl.Count)
	for len(body) > 0 {
		e, tree, rest, err := readRecord(body)
		if err != nil {
			return nil, nil, 0, bad("body: event at position %d: %v", bl.First+uint64(len(events)), err)
		}
		if want := bl.First + uint64(len(events)); e.Position != want {
			return nil, nil, 0, bad("body: event has position %d, want %d", e.Position, want)
		}
		events = append(events, e)
		trees = append(trees, tree)
		body = rest
	}
	if len(events) != bl.Count {
		return nil, nil, 0, bad("body: block at position %d holds %d events, want %d", bl.First, len(events), bl.Count)
	}
	return events, trees, n, nil
}

// decodeHeader parses everything before the body; body is the rest of file, which may
// be only the first bytes of a file of size bytes.
func decodeHeader(name string, file []byte, size int64) (s *Segment, body []byte, blen int, sum [32]byte, err error) {
	bad := func(format string, args ...any) error {
		return &SegmentError{File: name, Reason: fmt.Sprintf(format, args...)}
	}
	r := &lineReader{b: file}
	if !bytes.HasPrefix(file, []byte(Magic)) {
		return nil, nil, 0, sum, bad("not a segment (first line is not %q)", strings.TrimSpace(Magic))
	}
	r.b = r.b[len(Magic):]
	s = &Segment{}
	var frames uint64
	for _, f := range []struct {
		key string
		dst any
	}{{"first", &s.First}, {"last", &s.Last}, {"prev", &s.Prev}, {"head", &s.Head}, {"frame", &frames}} {
		v, ok := r.field(f.key)
		if !ok {
			return nil, nil, 0, sum, bad("header: want a %q line", f.key)
		}
		switch d := f.dst.(type) {
		case *uint64:
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil || strconv.FormatUint(n, 10) != v {
				return nil, nil, 0, sum, bad("header: %s %q", f.key, v)
			}
			*d = n
		case *[32]byte:
			if !decodeHash(d[:], v) {
				return nil, nil, 0, sum, bad("header: %s %q", f.key, v)
			}
		}
	}
	if s.First < 1 || s.Last < s.First || frames > 64 {
		return nil, nil, 0, sum, bad("header: leaf range %d..%d with %d edge hashes", s.First, s.Last, frames)
	}
	s.Frontier = make([]tlog.Hash, frames)
	for i := range s.Frontier {
		line, ok := r.line()
		if !ok || !decodeHash(s.Frontier[i][:], line) {
			return nil, nil, 0, sum, bad("header: tree edge hash %d", i)
		}
	}
	v, ok := r.field("checkpoint")
	n, err := strconv.Atoi(v)
	if !ok || err != nil || n < 0 || n > len(r.b) || strconv.Itoa(n) != v {
		return nil, nil, 0, sum, bad("header: checkpoint length %q", v)
	}
	s.Checkpoint, r.b = r.b[:n:n], r.b[n:]
	v, ok = r.field("blocks")
	parts := strings.Fields(v)
	if !ok || len(parts) != 2 {
		return nil, nil, 0, sum, bad("header: blocks line %q", v)
	}
	nb, err1 := strconv.Atoi(parts[0])
	blockSize, err2 := strconv.Atoi(parts[1])
	count := s.Last - s.First + 1
	if err1 != nil || err2 != nil || blockSize != BlockEvents || nb < 1 || strconv.Itoa(nb) != parts[0] || uint64(nb) != (count+uint64(blockSize)-1)/uint64(blockSize) {
		return nil, nil, 0, sum, bad("header: blocks line %q for %d events", v, count)
	}
	lens := make([]int, nb)
	for i := range lens {
		line, ok := r.line()
		n, err := strconv.Atoi(line)
		if !ok || err != nil || n < 1 || int64(n) > size || strconv.Itoa(n) != line {
			return nil, nil, 0, sum, bad("header: block %d length %q", i, line)
		}
		lens[i] = n
	}
	v, ok = r.field("body")
	parts = strings.Fields(v)
	if !ok || len(parts) != 4 || parts[0] != "zstd" {
		return nil, nil, 0, sum, bad("header: body line %q", v)
	}
	clen, err1 := strconv.Atoi(parts[1])
	blen, err2 = strconv.Atoi(parts[2])
	if err1 != nil || err2 != nil || blen < 0 || blen > maxBody || !decodeHash(sum[:], parts[3]) || strconv.Itoa(clen) != parts[1] || strconv.Itoa(blen) != parts[2] {
		return nil, nil, 0, sum, bad("header: body line %q", v)
	}
	s.BlockEvents = blockSize
	s.Blocks = layBlocks(s.First, s.Last, blockSize, lens, int64(len(file)-len(r.b)))
	if s.bodyLen() != clen || size-int64(len(file)-len(r.b)) != int64(clen) {
		return nil, nil, 0, sum, bad("header: blocks add up to %d bytes, the body line says %d, the file holds %d", s.bodyLen(), clen, size-int64(len(file)-len(r.b)))
	}
	return s, r.b, blen, sum, nil
}

// Record flags: SQLite tells a NULL payload from an empty one, and a read must give back
// exactly what was stored.
const (
	flagData     = 1 << 0
	flagMetadata = 1 << 1
)

func appendRecord(b []byte, e eventstore.RecordedEvent, tree []tlog.Hash) []byte {
	b = binary.BigEndian.AppendUint64(b, e.Position)
	b = binary.BigEndian.AppendUint64(b, e.Revision)
	b = append(b, e.ID[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(e.RecordedAt.UnixNano()))
	b = appendBytes(b, []byte(e.Stream))
	b = appendBytes(b, []byte(e.Type))
	var flags byte
	if e.Data != nil {
		flags |= flagData
	}
	if e.Metadata != nil {
		flags |= flagMetadata
	}
	b = append(b, flags)
	b = appendBytes(b, e.Data)
	b = appendBytes(b, e.Metadata)
	b = append(b, e.Hash[:]...)
	b = append(b, byte(len(tree)))
	for _, h := range tree {
		b = append(b, h[:]...)
	}
	return b
}

func appendBytes(b, v []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
	return append(b, v...)
}

var errShort = errors.New("truncated")

func readRecord(b []byte) (e eventstore.RecordedEvent, tree []tlog.Hash, rest []byte, err error) {
	r := byteReader{b: b}
	e.Position = r.u64()
	e.Revision = r.u64()
	copy(e.ID[:], r.take(16))
	e.RecordedAt = unixUTC(int64(r.u64()))
	e.Stream = string(r.bytes())
	e.Type = string(r.bytes())
	flags := r.take(1)
	data, metadata := r.bytes(), r.bytes()
	copy(e.Hash[:], r.take(32))
	n := r.take(1)
	if r.short || len(flags) != 1 || len(n) != 1 {
		return e, nil, nil, errShort
	}
	if flags[0]&^(flagData|flagMetadata) != 0 {
		return e, nil, nil, fmt.Errorf("unknown flags %#x", flags[0])
	}
	if flags[0]&flagData != 0 {
		e.Data = append([]byte{}, data...)
	} else if len(data) != 0 {
		return e, nil, nil, errors.New("NULL data with a length")
	}
	if flags[0]&flagMetadata != 0 {
		e.Metadata = append([]byte{}, metadata...)
	} else if len(metadata) != 0 {
		return e, nil, nil, errors.New("NULL metadata with a length")
	}
	if e.ID == (uuid.UUID{}) {
		return e, nil, nil, errors.New("nil event ID")
	}
	tree = make([]tlog.Hash, n[0])
	for i := range tree {
		copy(tree[i][:], r.take(32))
	}
	if r.short {
		return e, nil, nil, errShort
	}
	return e, tree, r.b, nil
}

type byteReader struct {
	b     []byte
	short bool
}

func (r *byteReader) take(n int) []byte {
	if n < 0 || len(r.b) < n {
		r.short, r.b = true, nil
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *byteReader) u64() uint64 {
	v := r.take(8)
	if v == nil {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

func (r *byteReader) bytes() []byte {
	v := r.take(4)
	if v == nil {
		return nil
	}
	return r.take(int(binary.BigEndian.Uint32(v)))
}

type lineReader struct{ b []byte }

func (r *lineReader) line() (string, bool) {
	i := bytes.IndexByte(r.b, '\n')
	if i < 0 {
		return "", false
	}
	l := string(r.b[:i])
	r.b = r.b[i+1:]
	return l, true
}

// field reads a "key value" line.
func (r *lineReader) field(key string) (string, bool) {
	l, ok := r.line()
	if !ok {
		return "", false
	}
	v, found := strings.CutPrefix(l, key+" ")
	return v, found
}

func decodeHash(dst []byte, s string) bool {
	if len(s) != 2*len(dst) || strings.ToLower(s) != s {
		return false
	}
	_, err := hex.Decode(dst, []byte(s))
	return err == nil
}
