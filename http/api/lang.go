package api

import (
	"strconv"
	"strings"
)

// One slice per language the catalogue speaks, shared, so choosing a language allocates
// nothing on the hot path.
var (
	langEN = []string{"en"}
	langFR = []string{"fr"}
	langIT = []string{"it"}
)

// languages picks the best language of the Accept-Language header that the catalogue
// speaks (en, fr, it), honouring q-values; English otherwise.
func languages(header string) []string {
	best, bestQ := langEN, -1.0
	for header != "" {
		var part string
		part, header, _ = strings.Cut(header, ",")
		tag, params, _ := strings.Cut(part, ";")
		tag = strings.TrimSpace(tag)
		if len(tag) > 2 && tag[2] == '-' {
			tag = tag[:2]
		}
		var cand []string
		switch {
		case strings.EqualFold(tag, "en"):
			cand = langEN
		case strings.EqualFold(tag, "fr"):
			cand = langFR
		case strings.EqualFold(tag, "it"):
			cand = langIT
		default:
			continue
		}
		q := 1.0
		if p := strings.TrimSpace(params); strings.HasPrefix(p, "q=") {
			if v, err := strconv.ParseFloat(p[2:], 64); err == nil {
				q = v
			}
		}
		if q > bestQ && q > 0 {
			best, bestQ = cand, q
		}
	}
	return best
}

// lastAttemptWarning is what the login flow may show when one attempt is left before the
// lock (R1.2, seed 004).
var lastAttemptWarning = map[string]string{
	"en": "You have one more try before your account is locked.",
	"fr": "Il vous reste un essai avant que votre compte ne soit verrouillé.",
	"it": "Hai ancora un tentativo prima che il tuo account venga bloccato.",
}
