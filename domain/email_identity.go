package domain

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mtibben/confusables"
	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
)

// An address is one person's identity, so every form a person could type or be shown for
// it must come to one string, and two strings that look alike to a person must not name
// two people. CanonicalEmail gives the one string; EmailSkeleton gives what two
// look-alikes share (UTS #39).

// maxEmailLength is RFC 5321's limit on a forward path, in octets.
const maxEmailLength = 254

// emailDomains turns a domain into its ASCII (A-label) form: the form mail is routed by,
// checked against IDNA 2008 (UTS #46 non-transitional mapping, STD3 rules, the bidi rule
// and DNS lengths), so "LAC.example", "ｌａｃ.example" and "lac.example" are one domain.
var emailDomains = idna.New(idna.MapForLookup(), idna.Transitional(false), idna.BidiRule(), idna.VerifyDNSLength(true))

// CanonicalEmail returns the identity an address is known under: trimmed, the local part
// in Unicode NFKC and lower case, the domain in its IDNA ASCII form. It refuses, with
// invalid_email, an address with an invisible, control or bidirectional-formatting
// character (they make one address look like another), one whose domain is not a valid
// IDNA name, and one that net/mail (the parser the mailer uses) does not read back as
// exactly that address, so an address accepted here is one the mailer can send to.
func CanonicalEmail(raw string) (string, error) {
	bad := func(why string) (string, error) {
		return "", refuse(CodeInvalidEmail, "%q is not a valid e-mail address: %s", raw, why)
	}
	s := strings.TrimSpace(raw)
	if !utf8.ValidString(s) {
		return bad("it is not valid UTF-8")
	}
	if r, found := hiddenRune(s); found {
		return bad("it contains the invisible or control character " + runeName(r))
	}
	s = strings.ToLower(norm.NFKC.String(s))
	if r, found := hiddenRune(s); found { // NFKC can produce one, e.g. from a compatibility space
		return bad("it contains the invisible or control character " + runeName(r))
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return bad("it needs a local part, an @ and a domain")
	}
	local, host := s[:at], s[at+1:]
	ascii, err := emailDomains.ToASCII(host)
	if err != nil {
		return bad("the domain is not a valid internationalised domain name")
	}
	if !strings.Contains(ascii, ".") || strings.HasSuffix(ascii, ".") {
		return bad("the domain needs at least two labels")
	}
	addr := local + "@" + ascii
	if len(addr) > maxEmailLength {
		return bad("it is longer than 254 bytes")
	}
	parsed, err := mail.ParseAddress(addr)
	if err != nil || parsed.Name != "" || parsed.Address != addr {
		return bad("it is not a plain RFC 5322 address")
	}
	return addr, nil
}

// ValidEmail reports whether an address has a canonical form.
func ValidEmail(raw string) bool {
	_, err := CanonicalEmail(raw)
	return err == nil
}

// NormaliseEmail is the key an address is looked up under: its canonical form, or for an
// address that has none (and so can have no account) its trimmed lower-case form, so that
// a lookup of junk still costs and answers what a lookup of an unknown address does.
func NormaliseEmail(raw string) string {
	if c, err := CanonicalEmail(raw); err == nil {
		return c
	}
	return LegacyEmailKey(raw)
}

// LegacyEmailKey is how addresses were normalised before CanonicalEmail: trimmed and
// lower-cased. The two agree on every ASCII address; streams keyed under this form for a
// non-ASCII address are still found through it (see commands.AccountIDByEmail).
func LegacyEmailKey(raw string) string {
	return strings.ToLower(strings.TrimSpace(raw))
}

// EmailSkeleton is the UTS #39 confusable skeleton of a canonical address, with the domain
// in Unicode so that a look-alike domain ("lаc.example" with a Cyrillic а) meets the real
// one. Two addresses with one skeleton look alike to a person.
func EmailSkeleton(canonical string) string {
	return confusables.Skeleton(unicodeDomainForm(canonical))
}

// unicodeDomainForm is a canonical address with its domain as people read it.
func unicodeDomainForm(canonical string) string {
	at := strings.LastIndexByte(canonical, '@')
	if at < 0 {
		return canonical
	}
	host, err := emailDomains.ToUnicode(canonical[at+1:])
	if err != nil {
		return canonical
	}
	return canonical[:at+1] + host
}

// hiddenRune finds a rune a reader would not see, or would see as something else: control
// and format characters (zero-width spaces and joiners, bidi embeddings, overrides and
// isolates, the BOM), default-ignorable code points, variation selectors, private-use and
// unassigned code points, and any space.
func hiddenRune(s string) (rune, bool) {
	for _, r := range s {
		if r < utf8.RuneSelf {
			if r <= ' ' || r == 0x7f {
				return r, true
			}
			continue
		}
		if !unicode.IsGraphic(r) || unicode.IsSpace(r) || unicode.In(r, unicode.Cf, unicode.Co, unicode.Bidi_Control, unicode.Join_Control,
			unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector, unicode.Noncharacter_Code_Point) || r == 0x115F || r == 0x1160 || r == 0x3164 || r == 0xFFA0 {
			return r, true
		}
	}
	return 0, false
}

func runeName(r rune) string { return fmt.Sprintf("U+%04X", r) }
