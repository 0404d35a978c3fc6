package credentials

import (
	"encoding/base64"
	"fmt"
	"sync"
	"testing"

	xargon2 "golang.org/x/crypto/argon2"
)

// xcryptoPHC is the PHC string golang.org/x/crypto/argon2 makes for these inputs: the
// hashes stored before the Hasher had its own copy of the package.
func xcryptoPHC(password string, salt []byte, m, t uint32, p uint8) string {
	key := xargon2.IDKey([]byte(password), salt, t, m, p, 32)
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", m, t, p,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

func TestHasherVerifiesXCryptoHashes(t *testing.T) {
	h, err := NewHasher(Argon2Params{MemoryKiB: 256, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32})
	if err != nil {
		t.Fatal(err)
	}
	salt := []byte("0123456789abcdef")
	for _, c := range []struct {
		name    string
		m, t    uint32
		p       uint8
		attempt string
		want    bool
	}{
		{"the Hasher's cost", 256, 2, 1, "right horse", true},
		{"wrong password", 256, 2, 1, "wrong horse", false},
		{"cheaper stored hash", 64, 1, 1, "right horse", true},
		{"costlier stored hash (own buffer)", 1024, 3, 2, "right horse", true},
		{"costlier, wrong password", 1024, 3, 2, "wrong horse", false},
		{"four lanes", 128, 1, 4, "right horse", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			phc := xcryptoPHC("right horse", salt, c.m, c.t, c.p)
			// Twice: the second runs in a buffer the first (or another case) left dirty.
			for i := range 2 {
				if got := h.Verify(phc, c.attempt); got != c.want {
					t.Fatalf("verification %d: %v, want %v", i+1, got, c.want)
				}
			}
		})
	}
}

// TestHasherConcurrent runs more verifications at once than there are slots, each slot's
// buffer passing from one to the next (run with -race).
func TestHasherConcurrent(t *testing.T) {
	h, err := NewHasher(Argon2Params{MemoryKiB: 128, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32})
	if err != nil {
		t.Fatal(err)
	}
	phc, err := h.Hash("right horse")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 32)
	for i := range 32 {
		wg.Go(func() {
			attempt, want := "right horse", true
			if i%3 == 0 {
				attempt, want = "wrong horse", false
			}
			if got := h.Verify(phc, attempt); got != want {
				errs <- fmt.Sprintf("attempt %d (%s): %v", i, attempt, got)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if n := h.Concurrency(); n < 1 || len(h.slots) != n {
		t.Fatalf("%d of %d slots back after the verifications", len(h.slots), n)
	}
}

// TestHasherMeter: the meter brackets every argon2id computation, hashing, verifying and the
// dummy verification alike, on the goroutine that runs it, and nothing else.
func TestHasherMeter(t *testing.T) {
	h, err := NewHasher(Argon2Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32})
	if err != nil {
		t.Fatal(err)
	}
	var started, done int
	h.SetMeter(func() func() {
		started++
		return func() { done++ }
	})
	phc, err := h.Hash("Correct horse battery 42")
	if err != nil {
		t.Fatal(err)
	}
	h.Verify(phc, "Correct horse battery 42")
	h.Verify(phc, "wrong")
	h.VerifyDummy("anything")
	h.Verify("not a hash", "x") // refused before any computation
	if started != 4 || done != 4 {
		t.Fatalf("meter started %d and done %d times, want 4 and 4", started, done)
	}
}
