package scenario

import (
	"fmt"
	"strings"
)

// token is one word of a story line. Quoted text stays one token whatever it contains, so
// a password or a rule name can hold spaces, commas or '#'.
type token struct {
	text   string
	quoted bool
}

func (t token) String() string {
	if t.quoted {
		return fmt.Sprintf("%q", t.text)
	}
	return t.text
}

// is reports whether t is the bare word w (case-insensitive: a story is prose).
func (t token) is(w string) bool { return !t.quoted && strings.EqualFold(t.text, w) }

// punctuation that stands alone as a token. ':' only does so at the end of a word, so
// that clock times ("09:05") and instants stay whole.
const standalone = ",()"

// lex splits a line into tokens and drops a trailing comment. A '#' starts a comment only
// at the start of a word, so an invoice named "INV#3" is still possible.
func lex(line string) ([]token, error) {
	var out []token
	var word strings.Builder
	flush := func() {
		if word.Len() == 0 {
			return
		}
		w := word.String()
		word.Reset()
		if len(w) > 1 && strings.HasSuffix(w, ":") {
			out = append(out, token{text: w[:len(w)-1]}, token{text: ":"})
			return
		}
		out = append(out, token{text: w})
	}
	rs := []rune(line)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == '"':
			flush()
			j := i + 1
			var q strings.Builder
			for ; j < len(rs) && rs[j] != '"'; j++ {
				if rs[j] == '\\' && j+1 < len(rs) && (rs[j+1] == '"' || rs[j+1] == '\\') {
					j++
				}
				q.WriteRune(rs[j])
			}
			if j >= len(rs) {
				return nil, fmt.Errorf("a quote is opened but never closed")
			}
			out = append(out, token{text: q.String(), quoted: true})
			i = j
		case r == '#' && word.Len() == 0:
			flush()
			return out, nil
		case r == ' ' || r == '\t':
			flush()
		case strings.ContainsRune(standalone, r):
			flush()
			out = append(out, token{text: string(r)})
		default:
			word.WriteRune(r)
		}
	}
	flush()
	return out, nil
}

func joinTokens(ts []token) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = t.String()
	}
	return strings.Join(parts, " ")
}
