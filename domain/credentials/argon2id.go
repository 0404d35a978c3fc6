// Package credentials holds the secret-handling primitives: argon2id password hashes in
// PHC form, link tokens stored only as SHA-256 hashes, sealed TOTP secrets. It sits below
// both sides because both need it: the write side issues and checks, the outbox derives a
// link's token again from the nonce the log keeps. Every function is a function of its
// key and inputs (time is passed in); only minting a new salt, nonce or secret reads
// crypto/rand, which replay never does.
package credentials

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"accountd/domain/credentials/internal/argon2"
)

// Argon2Params are the argon2id cost settings. The defaults follow OWASP's password storage
// cheat sheet (m=19 MiB, t=2, p=1).
type Argon2Params struct {
	MemoryKiB   uint32 `json:"memory_kib"`
	Iterations  uint32 `json:"iterations"`
	Parallelism uint8  `json:"parallelism"`
	SaltLength  uint32 `json:"salt_length"`
	KeyLength   uint32 `json:"key_length"`
}

// DefaultArgon2Params is OWASP's recommended minimum.
func DefaultArgon2Params() Argon2Params {
	return Argon2Params{MemoryKiB: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}
}

// ErrMalformedHash is returned for a stored hash that is not an argon2id PHC string.
var ErrMalformedHash = errors.New("credentials: malformed argon2id hash")

// Hasher hashes and verifies passwords with argon2id. Make one with NewHasher.
type Hasher struct {
	Params Argon2Params
	// dummy is verified against when no account exists, so an unknown e-mail costs the same
	// time as a wrong password (OWASP; RULES R8.2).
	dummy string
	// slots bounds the argon2id computations under way to one per core (see cores).
	// Sixteen sign-ins hashing at once on two cores take no less CPU in all
	// than two at a time, but they hold sixteen 19 MiB working sets that evict one
	// another from the caches and make the heap (and its page faults and GC) eight times
	// larger: measured on the login path, each hash cost about 35% more CPU than the same
	// hash run one per core. Waiting for a slot changes no parameter, and every request
	// still pays a whole hash, so the timing stays equal for unknown e-mails.
	//
	// Each slot carries the block array its hash works in, kept from one hash to the next:
	// allocating 19 MiB a hash cost its zeroing, GC cycles and page faults (see
	// internal/argon2).
	slots chan *argon2.Buffer
	// meter, when set, measures each argon2id computation (SetMeter).
	meter HashMeter
}

// A HashMeter measures one argon2id computation: it is called as the computation begins,
// on the goroutine that runs it, and the function it returns is called as it ends. The
// server counts the hashes' own CPU time this way: the part of a sign-in's cost that is the
// hash, told apart from everything else the path does.
type HashMeter func() (done func())

// SetMeter makes m measure every argon2id computation from now on. Call it before the
// Hasher is shared.
func (h *Hasher) SetMeter(m HashMeter) { h.meter = m }

// cores is GOMAXPROCS as the process started, before the server raised it: the runtime's
// count of the cores it may use. The server runs one more P than that, so that a core is
// not left idle while a goroutine blocks in fsync or in SQLite holding its P; the hashes
// still run one per core.
var cores = runtime.GOMAXPROCS(0)

// NewHasher validates the parameters and prepares the dummy hash.
func NewHasher(p Argon2Params) (*Hasher, error) {
	if p.MemoryKiB < 8*uint32(p.Parallelism) || p.Iterations < 1 || p.Parallelism < 1 || p.SaltLength < 8 || p.KeyLength < 16 {
		return nil, fmt.Errorf("credentials: argon2id parameters out of range: %+v", p)
	}
	n := min(runtime.GOMAXPROCS(0), cores)
	h := &Hasher{Params: p, slots: make(chan *argon2.Buffer, n)}
	for range n {
		h.slots <- new(argon2.Buffer)
	}
	d, err := h.Hash("accountd dummy password for equal timing")
	if err != nil {
		return nil, err
	}
	h.dummy = d
	return h, nil
}

// Concurrency is how many hashes the Hasher runs at once: one per core.
func (h *Hasher) Concurrency() int { return cap(h.slots) }

// Hash returns the PHC string $argon2id$v=19$m=..,t=..,p=..$salt$key.
func (h *Hasher) Hash(password string) (string, error) {
	salt := make([]byte, h.Params.SaltLength)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("credentials: salt: %w", err)
	}
	key := h.idKey([]byte(password), salt, h.Params.Iterations, h.Params.MemoryKiB, h.Params.Parallelism, h.Params.KeyLength)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.Params.MemoryKiB, h.Params.Iterations, h.Params.Parallelism,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

var b64 = base64.RawStdEncoding

// Verify reports whether password matches the PHC hash, in constant time. The hash's own
// parameters are used, so hashes made under older settings keep verifying.
func (h *Hasher) Verify(phc, password string) bool {
	ok, err := h.verify(phc, password)
	return ok && err == nil
}

// VerifyDummy spends the time of one verification and always fails.
func (h *Hasher) VerifyDummy(password string) bool {
	_, _ = h.verify(h.dummy, password)
	return false
}

// idKey runs argon2id in a slot's buffer once a slot is free. A hash that needs more memory
// than the Hasher's own parameters (an old, costlier stored hash) gets an array of its own,
// so the slots never keep more than the configured cost each.
func (h *Hasher) idKey(password, salt []byte, t, m uint32, p uint8, keyLen uint32) []byte {
	buf := <-h.slots
	defer func() { h.slots <- buf }()
	if h.meter != nil {
		defer h.meter()()
	}
	if m > h.Params.MemoryKiB {
		return argon2.IDKey(nil, password, salt, t, m, p, keyLen)
	}
	return argon2.IDKey(buf, password, salt, t, m, p, keyLen)
}

func (h *Hasher) verify(phc, password string) (bool, error) {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, ErrMalformedHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, ErrMalformedHash
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || t == 0 || p == 0 {
		return false, ErrMalformedHash
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, ErrMalformedHash
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, ErrMalformedHash
	}
	got := h.idKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
