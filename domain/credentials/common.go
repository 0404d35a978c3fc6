package credentials

import (
	_ "embed"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// commonPasswordsData is the 30,000 most frequent passwords of the zxcvbn 4.4.2 "passwords"
// frequency list, most common first, one lower-case entry a line. Origin, licence and the
// commands that extracted it: common_passwords_LICENSE.md.
//
//go:embed common_passwords.txt
var commonPasswordsData string

var (
	commonOnce sync.Once
	commonSet  map[string]struct{}
)

// commonPasswords builds the set once, on first use, so importing the package costs nothing.
// The keys are substrings of the embedded data: no copy of the list is made.
func commonPasswords() map[string]struct{} {
	commonOnce.Do(func() {
		set := make(map[string]struct{}, strings.Count(commonPasswordsData, "\n")+1)
		for line := range strings.Lines(commonPasswordsData) {
			if w := strings.ToLower(strings.TrimSpace(line)); w != "" {
				set[w] = struct{}{}
			}
		}
		for _, w := range contextWords {
			set[w] = struct{}{}
		}
		commonSet = set
	})
	return commonSet
}

// contextWords are words of this service's own world that zxcvbn's list lacks (it drops
// dictionary words, which it scores by other means): what a hotel's staff would build a
// password on, in English, French and Italian. NIST SP 800-63B asks for such
// context-specific words in a blocklist. Lower-case; accented and plain spellings both.
var contextWords = []string{
	"hotel", "hôtel", "albergo", "motel", "hostel", "resort", "reception", "réception",
	"receptionist", "accueil", "ricevimento", "frontdesk", "concierge", "portier", "portiere",
	"booking", "reservation", "réservation", "prenotazione", "prenotazioni", "chambre",
	"camera", "suite", "housekeeping", "gouvernante", "admin", "administrator",
	"administrateur", "amministratore", "manager", "direction", "direzione", "directeur",
	"direttore", "welcome", "bienvenue", "benvenuto", "benvenuti", "login", "connexion",
	"accesso", "password", "motdepasse", "parola", "parolachiave", "chiave", "changeme",
}

// CommonPasswordCount is the number of distinct entries checked: the embedded file's 30,000
// plus the contextWords it lacks.
func CommonPasswordCount() int { return len(commonPasswords()) }

// Limits of the variant rules of IsCommonPassword.
const (
	// commonAffixMax is how many characters may be added around a list entry, in total.
	commonAffixMax = 3
	// commonShortUnit: a run of at most this many characters repeated is always common.
	commonShortUnit = 3
)

// IsCommonPassword reports whether p is in the embedded common-password list (R2.2) or is a
// trivial variant of an entry. Exactly this is caught, all after lower-casing p:
//
//  1. Forms. The password itself; with every non-letter (digit, punctuation, space,
//     symbol) stripped from its end, from its start, and from both ends; with punctuation,
//     spaces and symbols (not digits) stripped from both ends; and each of these
//     with leetspeak undone (0→o, 1→i or 1→l, 3→e, 4→a, 5→s, 7→t, @→a, $→s), then also
//     stripped of end non-letters again. So "Password123!", "2024Password", "P@ssw0rd!",
//     "$unshine99" and "hell0!!!" all come down to "password", "sunshine" or "hello".
//  2. A form is common when it is a list entry, or a list entry with at most 3 characters
//     added at its start and/or end in total ("qwertyuiop12", "sunshinexyz"), or a list
//     entry repeated ("monkeymonkey"), or any run of at most 3 characters repeated
//     ("aaaaaaaaaaaa", "abcabcabcabc", "121212121212"), or a straight sequence of letters
//     or digits up or down ("abcdefghijkl", "987654321098": digits wrap 9-0).
//
// The list is the embedded file plus contextWords (hotel vocabulary: "Hotel1234567" and
// "Reception2024!" are common here).
//
// Nothing else: internal separators are not removed ("pass word" is not "password"), words
// are not looked up inside a longer phrase, and no other substitution is tried. A passphrase
// of several ordinary words is therefore never flagged unless the whole phrase, give or take
// those edges, is itself a listed password. The cost is a few hundred map look-ups.
func IsCommonPassword(p string) bool {
	set := commonPasswords()
	lower := strings.ToLower(p)
	bases := [...]string{
		lower,
		strings.TrimFunc(lower, notLetter),
		strings.TrimRightFunc(lower, notLetter),
		strings.TrimLeftFunc(lower, notLetter),
		strings.TrimFunc(lower, notLetterOrDigit),
	}
	seen := make(map[string]struct{}, 30)
	for _, b := range bases {
		for _, v := range [...]string{b, unleet(b, 'i'), unleet(b, 'l')} {
			for _, form := range [...]string{v, strings.TrimFunc(v, notLetter)} {
				if _, dup := seen[form]; dup || form == "" {
					continue
				}
				seen[form] = struct{}{}
				if listedWithAffix(set, form) || repeatedUnit(set, form) || sequence(form) {
					return true
				}
			}
		}
	}
	return false
}

func notLetter(r rune) bool { return !unicode.IsLetter(r) }

func notLetterOrDigit(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }

// unleet undoes the usual character-for-letter substitutions; one is what '1' becomes.
func unleet(s string, one rune) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '0':
			return 'o'
		case '1':
			return one
		case '3':
			return 'e'
		case '4':
			return 'a'
		case '5', '$':
			return 's'
		case '7':
			return 't'
		case '@':
			return 'a'
		}
		return r
	}, s)
}

// listedWithAffix reports whether s, with up to commonAffixMax characters cut from its
// start and end together, is a list entry.
func listedWithAffix(set map[string]struct{}, s string) bool {
	// starts[i] is the byte offset of the i-th rune; starts[n] == len(s).
	starts := make([]int, 0, len(s)+1)
	for i := range s {
		starts = append(starts, i)
	}
	n := len(starts)
	starts = append(starts, len(s))
	for head := 0; head <= commonAffixMax; head++ {
		for tail := 0; head+tail <= commonAffixMax; tail++ {
			if n-head-tail < 1 {
				continue
			}
			if _, ok := set[s[starts[head]:starts[n-tail]]]; ok {
				return true
			}
		}
	}
	return false
}

// repeatedUnit reports whether s is a short run repeated, or a list entry repeated (the
// entry itself possibly a repetition: "123123" repeated twice is "123123123123").
func repeatedUnit(set map[string]struct{}, s string) bool {
	n := utf8.RuneCountInString(s)
	if n < 2 {
		return false
	}
	runes := []rune(s)
	for u := 1; u <= n/2; u++ {
		if n%u != 0 || !periodic(runes, u) {
			continue
		}
		// u is the smallest period: s is runes[:u] repeated k times.
		if u <= commonShortUnit {
			return true
		}
		unit := string(runes[:u])
		k := n / u
		for d := 1; d < k; d++ {
			if k%d != 0 {
				continue
			}
			if _, ok := set[strings.Repeat(unit, d)]; ok {
				return true
			}
		}
		return false
	}
	return false
}

func periodic(r []rune, u int) bool {
	for i := u; i < len(r); i++ {
		if r[i] != r[i-u] {
			return false
		}
	}
	return true
}

// sequence reports whether s, of at least 4 characters, is letters or digits stepping by
// one in a single direction: "abcdef", "zyxw", "34567890", "987654321098".
func sequence(s string) bool {
	r := []rune(s)
	if len(r) < 4 {
		return false
	}
	step := 0
	for i := 1; i < len(r); i++ {
		d, ok := seqStep(r[i-1], r[i])
		if !ok || (step != 0 && d != step) {
			return false
		}
		step = d
	}
	return true
}

// seqStep is +1 or -1 when b follows or precedes a among the letters a-z or the digits
// (which wrap: 9 then 0, 0 then 9).
func seqStep(a, b rune) (int, bool) {
	digit := func(r rune) bool { return r >= '0' && r <= '9' }
	letter := func(r rune) bool { return r >= 'a' && r <= 'z' }
	switch {
	case digit(a) && digit(b):
		switch (b - a + 10) % 10 {
		case 1:
			return 1, true
		case 9:
			return -1, true
		}
	case letter(a) && letter(b):
		switch b - a {
		case 1:
			return 1, true
		case -1:
			return -1, true
		}
	}
	return 0, false
}
