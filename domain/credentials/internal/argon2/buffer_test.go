package argon2

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	xargon2 "golang.org/x/crypto/argon2"
)

// TestIDKeyMatchesXCrypto compares IDKey with golang.org/x/crypto/argon2.IDKey on random
// passwords and salts over memory sizes, passes and lanes, with a fresh buffer, with one
// reused across all cases (first filled with noise): a first pass that XORed into the old
// contents, instead of overwriting as Argon2 v1.3 does, would differ here, and with one that
// grows with the cases, from the heap to a mapping of its own once it passes a huge page.
func TestIDKeyMatchesXCrypto(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	grown := new(Buffer)
	reused := &Buffer{blocks: make([]block, 8192)}
	for i := range reused.blocks {
		for j := range reused.blocks[i] {
			reused.blocks[i][j] = rng.Uint64()
		}
	}
	for _, memory := range []uint32{8, 33, 64, 257, 1024, 5000} {
		for time := uint32(1); time <= 3; time++ {
			for threads := uint8(1); threads <= 4; threads++ {
				t.Run(fmt.Sprintf("m=%d,t=%d,p=%d", memory, time, threads), func(t *testing.T) {
					password := make([]byte, rng.IntN(40))
					salt := make([]byte, 8+rng.IntN(24))
					for _, b := range [][]byte{password, salt} {
						for i := range b {
							b[i] = byte(rng.Uint32())
						}
					}
					keyLen := uint32(16 + rng.IntN(100))
					want := xargon2.IDKey(password, salt, time, memory, threads, keyLen)
					if got := IDKey(nil, password, salt, time, memory, threads, keyLen); !bytes.Equal(got, want) {
						t.Fatalf("fresh buffer: %x, x/crypto %x", got, want)
					}
					if got := IDKey(reused, password, salt, time, memory, threads, keyLen); !bytes.Equal(got, want) {
						t.Fatalf("reused buffer: %x, x/crypto %x", got, want)
					}
					if got := IDKey(grown, password, salt, time, memory, threads, keyLen); !bytes.Equal(got, want) {
						t.Fatalf("grown buffer (%d blocks, mapped %v): %x, x/crypto %x", len(grown.blocks), grown.mapping != nil, got, want)
					}
				})
			}
		}
	}
}

// TestRFC9106Vector is the Argon2id test vector of RFC 9106 section 5.3 (with a secret and
// associated data, which IDKey does not take), computed twice in one buffer.
func TestRFC9106Vector(t *testing.T) {
	want, _ := hex.DecodeString("0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659")
	password := bytes.Repeat([]byte{1}, 32)
	salt := bytes.Repeat([]byte{2}, 16)
	secret := bytes.Repeat([]byte{3}, 8)
	data := bytes.Repeat([]byte{4}, 12)
	buf := new(Buffer)
	for i := range 2 {
		if got := deriveKey(buf, argon2id, password, salt, secret, data, 3, 32, 4, 32); !bytes.Equal(got, want) {
			t.Fatalf("computation %d: %x, want %x", i+1, got, want)
		}
	}
}

// TestBufferGrows checks that a buffer too small for the memory asked for is replaced, and
// that a larger one is used in part.
func TestBufferGrows(t *testing.T) {
	buf := &Buffer{blocks: make([]block, 16)}
	want := xargon2.IDKey([]byte("pw"), []byte("saltsalt"), 1, 64, 1, 32)
	if got := IDKey(buf, []byte("pw"), []byte("saltsalt"), 1, 64, 1, 32); !bytes.Equal(got, want) {
		t.Fatalf("grown: %x, want %x", got, want)
	}
	if len(buf.blocks) != 64 {
		t.Fatalf("buffer holds %d blocks, want 64", len(buf.blocks))
	}
	want = xargon2.IDKey([]byte("pw"), []byte("saltsalt"), 2, 32, 2, 32)
	if got := IDKey(buf, []byte("pw"), []byte("saltsalt"), 2, 32, 2, 32); !bytes.Equal(got, want) {
		t.Fatalf("part of a larger buffer: %x, want %x", got, want)
	}
	if len(buf.blocks) != 64 {
		t.Fatalf("buffer holds %d blocks after a smaller computation, want 64", len(buf.blocks))
	}

	// Past a huge page the array leaves the heap for a mapping of its own (Linux only: the
	// other systems keep it on the heap), and a larger one replaces it.
	for _, memory := range []uint32{4096, 8192} {
		want = xargon2.IDKey([]byte("pw"), []byte("saltsalt"), 1, memory, 1, 32)
		if got := IDKey(buf, []byte("pw"), []byte("saltsalt"), 1, memory, 1, 32); !bytes.Equal(got, want) {
			t.Fatalf("%d blocks: %x, want %x", memory, got, want)
		}
		if len(buf.blocks) != int(memory) {
			t.Fatalf("buffer holds %d blocks, want %d", len(buf.blocks), memory)
		}
		if mapped := buf.mapping != nil; mapped != (runtime.GOOS == "linux") {
			t.Fatalf("%d blocks: mapped %v on %s", memory, mapped, runtime.GOOS)
		}
	}
}
