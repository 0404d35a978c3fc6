package credentials

import (
	"strings"
	"testing"
)

func TestIsCommonPassword(t *testing.T) {
	tests := []struct {
		password string
		want     bool
		why      string
	}{
		// In the list as is, whatever the case.
		{"password", true, "listed"},
		{"PASSWORD", true, "case-insensitive"},
		{"Qwertyuiop", true, "listed, capitalised"},
		{"1qaz2wsx3edc", true, "listed keyboard walk of 12 characters"},
		{"motdepasse", true, "listed (French)"},
		// Non-letters at the ends.
		{"Password123!", true, "trailing digits and punctuation"},
		{"Sunshine2024!!", true, "trailing year and punctuation"},
		{"2024Password", true, "leading digits"},
		{"  letmein  ", true, "surrounding spaces"},
		{"!!Dragon--2024!!", true, "both ends"},
		// Leetspeak.
		{"P@ssw0rd", true, "@ and 0"},
		{"p4ssw0rd2024!", true, "4, 0 and a trailing year"},
		{"$unshine99", true, "$ at the start, digits at the end"},
		{"$ecret123", true, "$ at the start, 1 and 3 must not be read as letters at the end"},
		{"hell0!!!", true, "0 at the end of the word"},
		{"7ru57no1", true, "7 and 5 undone: trustnol, minus its last character, is listed"},
		{"1ov3ly", true, "1 read as l, 3 as e"},
		// A few characters around an entry.
		{"qwertyuiop12", true, "entry plus two characters"},
		{"sunshinexyz", true, "entry plus three letters"},
		{"xmonkeyyz", true, "entry with letters both sides"},
		// Repetitions.
		{"MonkeyMonkey12", true, "entry repeated, then digits"},
		{"trustno1trustno1", true, "entry repeated"},
		{"123123123123", true, "repetition of a listed repetition"},
		{"aaaaaaaaaaaa", true, "one character repeated"},
		{"abcabcabcabc", true, "three characters repeated"},
		{"121212121212", true, "two digits repeated"},
		// Sequences (zxcvbn's list leaves them out).
		{"abcdefghijkl", true, "letters up"},
		{"987654321098", true, "digits down, wrapping"},
		{"!!34567890123", true, "digits up, wrapping, after stripping"},
		// Context words.
		{"Hotel1234567", true, "hotel, then digits"},
		{"Réception2026!", true, "accented context word"},
		{"administrator", true, "context word zxcvbn's list lacks"},
		{"Albergo-Stella-1987", false, "a context word inside a longer phrase"},

		// Not common.
		{"", false, "empty (the length rule refuses it)"},
		{"Correct horse battery staple", false, "passphrase of ordinary words"},
		{"Tramonto sul lago di Como, 1987!", false, "Italian passphrase"},
		{"Chambre 12 avec vue sur le lac", false, "French passphrase"},
		{"New long passphrase 9", false, "the passphrase the outbox tests use"},
		{"Correct horse battery 42", false, "the passphrase the command tests use"},
		{"A brand new passphrase 7", false, "the passphrase the HTTP tests use"},
		{"zq7!Lm2#pR9x", false, "random"},
		{"sunshine-hotel-lakeside", false, "entry inside a longer phrase"},
		{"monkeymonkeyx4ever", false, "more than three characters beyond a repetition"},
		{"pass word 2024", false, "internal separators are not removed"},
		{"abcdabcdabcdx", false, "a repeated unit of four that is not listed, plus a letter"},
	}
	for _, tt := range tests {
		if got := IsCommonPassword(tt.password); got != tt.want {
			t.Errorf("IsCommonPassword(%q) = %v, want %v (%s)", tt.password, got, tt.want, tt.why)
		}
	}
}

func TestCommonPasswordListShape(t *testing.T) {
	lines := strings.Split(strings.TrimSuffix(commonPasswordsData, "\n"), "\n")
	if len(lines) < 10000 {
		t.Fatalf("the file has %d entries, R2.2 asks at least 10,000", len(lines))
	}
	if n := CommonPasswordCount(); n < len(lines) {
		t.Errorf("%d lines but %d distinct entries: blank or duplicate lines", len(lines), n)
	}
	for i, l := range lines {
		if l == "" || l != strings.ToLower(strings.TrimSpace(l)) {
			t.Fatalf("line %d %q is not a trimmed lower-case entry", i+1, l)
		}
	}
	// The file is ordered by frequency: the classics come first.
	if lines[0] != "123456" || lines[1] != "password" {
		t.Errorf("first entries = %q, %q; want 123456, password", lines[0], lines[1])
	}
}

func BenchmarkIsCommonPassword(b *testing.B) {
	IsCommonPassword("warm-up")
	for b.Loop() {
		IsCommonPassword("Tramonto sul lago di Como, 1987!")
	}
}
