package timeline

import "testing"

// A cursor is refused, or names a position that encodes to a cursor naming it again; every
// position's own cursor decodes to it. Nothing panics.
func FuzzCursor(f *testing.F) {
	for _, c := range []string{EncodeCursor(1), EncodeCursor(1 << 63), "", "bogus", "dGwxOjA", "dGwxOi0x", "dGwxOjAwMDU", "dGwxOjU=", "dGwy OjU"} {
		f.Add(c, uint64(42))
	}
	f.Fuzz(func(t *testing.T, c string, position uint64) {
		if pos, err := DecodeCursor(c); err == nil {
			if pos == 0 {
				t.Fatalf("%q names position 0", c)
			}
			if again, err := DecodeCursor(EncodeCursor(pos)); err != nil || again != pos {
				t.Fatalf("%q -> %d -> %q -> %d (%v)", c, pos, EncodeCursor(pos), again, err)
			}
		}
		if position == 0 {
			return
		}
		if got, err := DecodeCursor(EncodeCursor(position)); err != nil || got != position {
			t.Fatalf("position %d -> %q -> %d (%v)", position, EncodeCursor(position), got, err)
		}
	})
}
