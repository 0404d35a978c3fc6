package messages

import "testing"

func TestMatch(t *testing.T) {
	tests := []struct {
		header string
		want   Lang
	}{
		{"", English},
		{"fr", French},
		{"it-IT,it;q=0.9,en;q=0.8", Italian},
		{"de-DE, en;q=0.5, fr;q=0.7", French},
		{"FR-ch", French},
		{"fr-CH, fr;q=0.9, en;q=0.8", French},
		{"de, es", English},
		{"en;q=0.1, it;q=0.2", Italian},
		{"fr;q=0", English},
		{"*", English},
		{"en-GB", English},
		{"not a header;;;", English},
	}
	for _, tc := range tests {
		// Twice: the second answer comes from the remembered headers.
		for range 2 {
			if got := Match(tc.header); got != tc.want {
				t.Errorf("Accept-Language %q: %s, want %s", tc.header, got, tc.want)
			}
		}
	}
}

func TestMatchAllocatesNothingForAKnownHeader(t *testing.T) {
	const h = "fr-CH, fr;q=0.9, en;q=0.8"
	Match(h)
	if n := testing.AllocsPerRun(100, func() { Match(h) }); n != 0 {
		t.Errorf("%v allocations per known header, want 0", n)
	}
}

// BenchmarkMatch: a header seen before (the common case: a login service sends a handful)
// against one parsed and matched by x/text, which the remembered answers avoid.
func BenchmarkMatch(b *testing.B) {
	const h = "fr-CH, fr;q=0.9, en;q=0.8"
	b.Run("known", func(b *testing.B) {
		b.ReportAllocs()
		Match(h)
		for b.Loop() {
			Match(h)
		}
	})
	b.Run("parsed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			match(h)
		}
	})
}
