// Package snapshot keeps folded aggregates beside the log, so that a stream of a million
// events is not folded from its first event on every cold load. A snapshot never replaces
// an event: the log keeps every one, replay and audit still read them all, and deleting
// every snapshot changes no answer (only how long some take).
//
// A snapshot is tagged with the stream revision it folds up to, the latest domain time of
// the events it folds (so point-in-time reads can start from the nearest one before an
// instant) and a version: the snapshot format and domain.EvolveVersion, the hash of the
// evolve code. A snapshot of another version is never read, so a change to evolve
// invalidates old snapshots by itself. A snapshot that does not decode (corrupt, sealed
// under another key, another format) is ignored and counted: the caller folds from the
// log as if there were none; it is never an error for the user.
//
// The aggregate state holds what the log holds: password hashes, link token hashes, MFA
// secrets already sealed by credentials.MFA, and open session IDs, which are bearer
// secrets. A snapshot is therefore sealed (AES-256-GCM, under a key derived from one the
// server already keeps), so the snapshot table holds nothing readable.
//
// Both sides read snapshots through this package: the command side (commands.Repository)
// on a cold load and the history reader (projections/history) for point-in-time reads and
// history pages. It sits below both, beside the log.
package snapshot

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	fastjson "github.com/goccy/go-json"
)

// Format is the version of the snapshot encoding (the envelope below, its compression and
// the sealing).
// Bump it when either changes; the evolve code's version is derived (domain.EvolveVersion).
// Format 2 keeps where a recent command's events are in the log instead of the events.
const Format = 2

// DefaultEvery is how many events a stream gains between two snapshots by default. A cold
// load folds at most this many events after its snapshot, about 5 µs each on SQLite: at
// 1,000 that tail alone cost 5 to 8 times a fresh account's whole command, and at 100 it
// still took a cold command on a million-event stream to 2.3 times a fresh account's on a
// quiet machine, where a command's fsync no longer hides it (BENCHMARKS.md). A hammered
// account's snapshot is about 1.3 kB, so a stream of a million events keeps about 25 MB.
const DefaultEvery = 50

// Record is a stored snapshot: opaque, sealed Data and what it is looked up by.
type Record struct {
	Stream   string
	Version  string    // Codec.Version: format, aggregate kind and evolve version
	Revision uint64    // the last stream revision the state folds
	At       time.Time // the latest domain time of the events folded (0..Revision)
	Data     []byte
}

// NoRevisionLimit is the maxRevision that accepts a snapshot at any revision.
const NoRevisionLimit = math.MaxInt64

// Store keeps snapshots. Every Save adds one (keyed by stream, version and revision; saving
// the same key again keeps the first), so a stream keeps one snapshot per N events: point-in-
// time reads start from the nearest one before their instant.
type Store interface {
	Save(ctx context.Context, r Record) error
	// Latest returns the snapshot of stream and version with the highest revision at most
	// maxRevision and, when notAfter is not zero, an At not after notAfter.
	Latest(ctx context.Context, stream, version string, maxRevision int64, notAfter time.Time) (Record, bool, error)
	// DeleteAll removes every snapshot (they are an optimisation only).
	DeleteAll(ctx context.Context) error
	// DeleteStream removes every snapshot of one stream, of every version: an erased
	// account's folded state holds its personal data in the key's place, and the next cold
	// load folds the log again (where that data is now unreadable). Deleting nothing is no
	// error.
	DeleteStream(ctx context.Context, stream string) error
	Close() error
}

// Snapshot is a decoded snapshot of an aggregate of type S.
type Snapshot[S any] struct {
	Revision uint64
	// Position is the global position of the event at Revision: a reader checks that the log
	// still holds that event there before trusting the snapshot (a log restored from an older
	// backup, or another log, beside a newer snapshot file).
	Position uint64
	At       time.Time
	State    S
	// Commands are the recent command IDs the state folds and where their events are, so
	// that a retried command is still recognised after a cold load (commands.Repository).
	Commands []Command
}

// Command is one command the snapshot remembers having applied. Its events are not kept:
// the log holds them at Revision and after (a command's events are appended together), and
// only a retry of it reads them again. Kept, they were two thirds of a hammered account's
// snapshot (11.6 kB of 18.3) and most of what decoding one cost on every cold load.
type Command struct {
	ID        string
	Revision  uint64   // the stream revision of its first event
	Positions []uint64 // the global position of each of its events, in order
}

// Codec encodes and seals snapshots of one aggregate kind.
type Codec[S any] struct {
	version string
	aead    cipher.AEAD
}

// NewCodec makes the codec of the aggregate kind (its name keeps kinds apart) whose fold
// has version evolveVersion (domain.EvolveVersion), sealing under a key derived from
// secret (at least 32 bytes, kept out of the snapshot store).
func NewCodec[S any](kind, evolveVersion string, secret []byte) (*Codec[S], error) {
	if len(secret) < 32 {
		return nil, errors.New("snapshot: the sealing secret needs at least 32 bytes")
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("accountd snapshot seal v1"))
	block, err := aes.NewCipher(mac.Sum(nil))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Codec[S]{version: fmt.Sprintf("%s.f%d.%s", kind, Format, evolveVersion), aead: aead}, nil
}

// Version is what the codec's records are tagged with.
func (c *Codec[S]) Version() string { return c.version }

// envelope is the plaintext of a snapshot. encoding/json writes struct fields in order and
// map keys sorted, so the same state always gives the same bytes.
type envelope[S any] struct {
	Format   int          `json:"format"`
	Stream   string       `json:"stream"`
	Revision uint64       `json:"revision"`
	Position uint64       `json:"position"`
	At       time.Time    `json:"at"`
	State    S            `json:"state"`
	Commands []envCommand `json:"commands,omitempty"`
}

type envCommand struct {
	ID        string   `json:"id"`
	Revision  uint64   `json:"revision"`
	Positions []uint64 `json:"positions"`
}

// Plain is the deterministic plaintext of a snapshot (what Encode seals).
func (c *Codec[S]) Plain(stream string, s Snapshot[S]) ([]byte, error) {
	env := envelope[S]{Format: Format, Stream: stream, Revision: s.Revision, Position: s.Position, At: s.At.UTC(), State: s.State}
	for _, cmd := range s.Commands {
		env.Commands = append(env.Commands, envCommand(cmd))
	}
	return json.Marshal(env)
}

func (c *Codec[S]) aad(stream string, revision uint64) []byte {
	b := append([]byte(c.version), 0)
	b = append(b, stream...)
	b = append(b, 0)
	return binary.BigEndian.AppendUint64(b, revision)
}

// Encode seals a snapshot of stream into a record.
func (c *Codec[S]) Encode(stream string, s Snapshot[S]) (Record, error) {
	plain, err := c.Plain(stream, s)
	if err != nil {
		return Record{}, err
	}
	// Compressed before sealing: the recent commands' positions are near-identical numbers
	// and the state's field names repeat.
	var z bytes.Buffer
	w, _ := deflaters.Get().(*flate.Writer)
	if w == nil {
		w, _ = flate.NewWriter(&z, flate.BestSpeed)
	} else {
		w.Reset(&z)
	}
	w.Write(plain)
	err = w.Close()
	deflaters.Put(w)
	if err != nil {
		return Record{}, err
	}
	nonce := make([]byte, c.aead.NonceSize())
	rand.Read(nonce)
	data := c.aead.Seal(nonce, nonce, z.Bytes(), c.aad(stream, s.Revision))
	return Record{Stream: stream, Version: c.version, Revision: s.Revision, At: s.At.UTC(), Data: data}, nil
}

// Decode opens a record; any failure means the record is unusable.
func (c *Codec[S]) Decode(r Record) (Snapshot[S], error) {
	var zero Snapshot[S]
	if r.Version != c.version {
		return zero, fmt.Errorf("snapshot: version %q, want %q", r.Version, c.version)
	}
	n := c.aead.NonceSize()
	if len(r.Data) < n {
		return zero, errors.New("snapshot: truncated")
	}
	sealed, err := c.aead.Open(nil, r.Data[:n], r.Data[n:], c.aad(r.Stream, r.Revision))
	if err != nil {
		return zero, fmt.Errorf("snapshot: does not open: %w", err)
	}
	plain, err := inflate(sealed)
	if err != nil {
		return zero, fmt.Errorf("snapshot: decode: %w", err)
	}
	var env envelope[S]
	dec := fastjson.NewDecoder(bytes.NewReader(plain))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil {
		return zero, fmt.Errorf("snapshot: decode: %w", err)
	}
	if env.Format != Format || env.Stream != r.Stream || env.Revision != r.Revision {
		return zero, fmt.Errorf("snapshot: envelope says format %d, %s@%d; record says %s@%d", env.Format, env.Stream, env.Revision, r.Stream, r.Revision)
	}
	out := Snapshot[S]{Revision: env.Revision, Position: env.Position, At: env.At, State: env.State}
	for _, ec := range env.Commands {
		if len(ec.Positions) == 0 {
			return zero, fmt.Errorf("snapshot: command %s has no events", ec.ID)
		}
		if ec.Revision+uint64(len(ec.Positions))-1 > env.Revision {
			return zero, fmt.Errorf("snapshot: command %s at revisions %d+%d, beyond the snapshot's %d", ec.ID, ec.Revision, len(ec.Positions), env.Revision)
		}
		out.Commands = append(out.Commands, Command(ec))
	}
	return out, nil
}

// deflaters and inflaters keep flate's compressors (about 1 MB each) and decompressors
// (about 40 kB) between snapshots: one is saved every DefaultEvery events of a hammered
// account, and read at every cold load.
var deflaters, inflaters sync.Pool

// inflate is the plaintext of a deflated snapshot, read whole before decoding: a cold
// load decodes it on the command's path, and goccy/go-json over the bytes takes about a
// third of what encoding/json's stream decoder took over the inflating reader.
func inflate(deflated []byte) ([]byte, error) {
	src := bytes.NewReader(deflated)
	r, _ := inflaters.Get().(io.ReadCloser)
	if r == nil {
		r = flate.NewReader(src)
	} else if err := r.(flate.Resetter).Reset(src, nil); err != nil {
		return nil, err
	}
	defer inflaters.Put(r)
	var out bytes.Buffer
	out.Grow(8 * len(deflated))
	if _, err := out.ReadFrom(r); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// Stats counts what snapshots did in this process (exported as metrics by Collector).
var Stats struct {
	Hits, Misses, Invalid, Saved, SaveErrors atomic.Uint64
}

// Restore returns the newest usable snapshot of stream within the bounds (maxRevision,
// notAfter: see Store.Latest). A store error or an undecodable snapshot is logged and
// counted and answers "none": the caller folds from the log.
func Restore[S any](ctx context.Context, st Store, c *Codec[S], stream string, maxRevision int64, notAfter time.Time) (Snapshot[S], bool) {
	var zero Snapshot[S]
	if st == nil || c == nil || maxRevision < 0 {
		return zero, false
	}
	rec, ok, err := st.Latest(ctx, stream, c.version, maxRevision, notAfter)
	if err != nil {
		if ctx.Err() == nil {
			Stats.Invalid.Add(1)
			slog.Warn("snapshot: read failed; folding from the log", "stream", stream, "error", err)
		}
		return zero, false
	}
	if !ok {
		Stats.Misses.Add(1)
		return zero, false
	}
	s, err := c.Decode(rec)
	if err != nil {
		Stats.Invalid.Add(1)
		slog.Warn("snapshot: unusable snapshot ignored; folding from the log", "stream", stream, "revision", rec.Revision, "error", err)
		return zero, false
	}
	Stats.Hits.Add(1)
	return s, true
}

// Save encodes and stores a snapshot; a failure is logged and counted, never returned:
// a missing snapshot costs time, not correctness.
func Save[S any](ctx context.Context, st Store, c *Codec[S], stream string, s Snapshot[S]) {
	rec, err := c.Encode(stream, s)
	if err == nil {
		err = st.Save(ctx, rec)
	}
	if err != nil {
		Stats.SaveErrors.Add(1)
		slog.Warn("snapshot: save failed", "stream", stream, "revision", s.Revision, "error", err)
		return
	}
	Stats.Saved.Add(1)
}

// Memory is a Store in memory (tests, the memory backend).
type Memory struct {
	mu      sync.Mutex
	streams map[string][]Record // by stream+version, sorted by revision
}

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory { return &Memory{streams: map[string][]Record{}} }

func (m *Memory) Save(_ context.Context, r Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := r.Stream + "\x00" + r.Version
	list := m.streams[key]
	i := sort.Search(len(list), func(i int) bool { return list[i].Revision >= r.Revision })
	if i < len(list) && list[i].Revision == r.Revision {
		return nil
	}
	r.Data = bytes.Clone(r.Data)
	list = append(list, Record{})
	copy(list[i+1:], list[i:])
	list[i] = r
	m.streams[key] = list
	return nil
}

func (m *Memory) Latest(_ context.Context, stream, version string, maxRevision int64, notAfter time.Time) (Record, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	list := m.streams[stream+"\x00"+version]
	for i := len(list) - 1; i >= 0; i-- {
		r := list[i]
		if int64(r.Revision) > maxRevision || !notAfter.IsZero() && r.At.After(notAfter) {
			continue
		}
		r.Data = bytes.Clone(r.Data)
		return r, true, nil
	}
	return Record{}, false, nil
}

func (m *Memory) DeleteAll(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.streams = map[string][]Record{}
	return nil
}

func (m *Memory) DeleteStream(_ context.Context, stream string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for key := range m.streams {
		if strings.HasPrefix(key, stream+"\x00") {
			delete(m.streams, key)
		}
	}
	return nil
}

// Count is how many snapshots the store holds.
func (m *Memory) Count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, l := range m.streams {
		n += len(l)
	}
	return n
}

// Corrupt flips a byte of every stored snapshot (tests).
func (m *Memory) Corrupt() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, l := range m.streams {
		for i := range l {
			if len(l[i].Data) > 0 {
				l[i].Data[len(l[i].Data)/2] ^= 0xff
			}
		}
	}
}

func (m *Memory) Close() error { return nil }

// Collectors export Stats: accountd_snapshot_loads_total{result=hit|miss|invalid} (invalid:
// unreadable, undecodable or not borne out by the log, each logged) and
// accountd_snapshot_saves_total{result=ok|error}.
func Collectors() []prometheus.Collector {
	load := func(result string, c *atomic.Uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "accountd_snapshot_loads_total",
			Help:        "Snapshot look-ups of cold loads, point-in-time reads and history pages, by result.",
			ConstLabels: prometheus.Labels{"result": result}}, func() float64 { return float64(c.Load()) })
	}
	save := func(result string, c *atomic.Uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "accountd_snapshot_saves_total",
			Help:        "Snapshots saved beside the log, by result.",
			ConstLabels: prometheus.Labels{"result": result}}, func() float64 { return float64(c.Load()) })
	}
	return []prometheus.Collector{load("hit", &Stats.Hits), load("miss", &Stats.Misses), load("invalid", &Stats.Invalid),
		save("ok", &Stats.Saved), save("error", &Stats.SaveErrors)}
}
