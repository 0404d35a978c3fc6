package domain

import (
	"net/mail"
	"testing"
	"unicode/utf8"
)

// An accepted address is a fixed point (canonicalising it again changes nothing), is what
// net/mail (the mailer's parser) reads back, holds nothing hidden, and keeps one skeleton
// and one lookup key; a refused one is refused with invalid_email. Nothing panics.
func FuzzCanonicalEmail(f *testing.F) {
	for _, s := range []string{
		"anna@lac.example", " Anna@LAC.Example ", "аnna@lac.example", "ａnna@lac.example", "an\u200bna@lac.example",
		"anna@ｌac.example", "anna@lac..example", "élise@café.example", "anna@xn--caf-dma.example", "\"a b\"@lac.example",
		"(c)anna@lac.example", "a@b@lac.example", "anna\u202e@lac.example", "Straße@straße.example", "o'neil+x@lac.example",
		"anna@-lac.example", "\xff@lac.example", "anna@lac.example.", "@lac.example", "anna@", "",
		"ǅ@lac.example", "ﬃ@lac.example", "anna@ﬁ.example", "anna@xn--.example", "a\u0301@lac.example",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := CanonicalEmail(raw)
		if err != nil {
			if ErrorCode(err) != CodeInvalidEmail {
				t.Fatalf("%q refused with %v, want invalid_email", raw, err)
			}
			if ValidEmail(raw) {
				t.Fatalf("%q refused yet valid", raw)
			}
			_ = NormaliseEmail(raw) // a lookup key exists for anything
			return
		}
		again, err := CanonicalEmail(c)
		if err != nil || again != c {
			t.Fatalf("%q -> %q -> %q, %v: not a fixed point", raw, c, again, err)
		}
		a, err := mail.ParseAddress(c)
		if err != nil || a.Address != c || a.Name != "" {
			t.Fatalf("%q -> %q: the mailer's parser reads %v, %v", raw, c, a, err)
		}
		if !utf8.ValidString(c) || len(c) > maxEmailLength {
			t.Fatalf("%q -> %q: invalid UTF-8 or too long", raw, c)
		}
		if r, hidden := hiddenRune(c); hidden {
			t.Fatalf("%q -> %q holds hidden %U", raw, c, r)
		}
		if NormaliseEmail(raw) != c || LegacyEmailStreams(raw)[0] != LegacyEmailStreams(c)[0] {
			t.Fatalf("%q: lookup key differs from its canonical form %q", raw, c)
		}
		if EmailSkeleton(c) != EmailSkeleton(again) || LegacyEmailSkeletonStream(c) == "" {
			t.Fatalf("%q: skeleton not stable", raw)
		}
	})
}
