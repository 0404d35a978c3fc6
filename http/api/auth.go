package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
)

// Role is what an API client may do. Roles are strict: admin is not a superset of the
// others, so a leaked admin token cannot drive logins; a client that needs several roles
// holds a token listing them.
type Role string

const (
	RoleLoginService Role = "login-service"
	RoleSecurity     Role = "security"
	RoleAuditor      Role = "auditor"
	RoleAdmin        Role = "admin"
)

// Roles lists every role, in the order generated tokens are written.
var Roles = []Role{RoleLoginService, RoleSecurity, RoleAuditor, RoleAdmin}

type roleSet uint8

func (r Role) bit() roleSet {
	for i, x := range Roles {
		if x == r {
			return 1 << i
		}
	}
	return 0
}

func rolesOf(rs ...Role) roleSet {
	var s roleSet
	for _, r := range rs {
		s |= r.bit()
	}
	return s
}

func (s roleSet) names() []string {
	var out []string
	for i, r := range Roles {
		if s&(1<<i) != 0 {
			out = append(out, string(r))
		}
	}
	return out
}

// Token is one client credential and the roles it grants.
type Token struct {
	Secret string
	Roles  []Role
}

// MinTokenLength keeps guessable tokens out of configuration.
const MinTokenLength = 16

// ParseTokens reads "token:role" entries separated by commas or newlines. A role part may
// list several roles joined by '+', and a token may appear more than once: its roles add
// up. Blank lines and lines starting with '#' are ignored. Errors name the entry (by its
// line or position, never by the secret).
func ParseTokens(text string) ([]Token, error) {
	var out []Token
	index := map[string]int{}
	entry := 0
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		for _, item := range strings.Split(line, ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			entry++
			secret, roles, ok := strings.Cut(item, ":")
			secret = strings.TrimSpace(secret)
			if !ok || secret == "" || strings.TrimSpace(roles) == "" {
				return nil, fmt.Errorf("token entry %d: want token:role", entry)
			}
			if len(secret) < MinTokenLength || strings.ContainsAny(secret, " \t") {
				return nil, fmt.Errorf("token entry %d: a token needs at least %d characters and no spaces", entry, MinTokenLength)
			}
			var rs []Role
			for _, name := range strings.Split(roles, "+") {
				r := Role(strings.TrimSpace(name))
				if r.bit() == 0 {
					return nil, fmt.Errorf("token entry %d: unknown role %q (want one of %s)", entry, r, roleList())
				}
				rs = append(rs, r)
			}
			if i, seen := index[secret]; seen {
				out[i].Roles = append(out[i].Roles, rs...)
				continue
			}
			index[secret] = len(out)
			out = append(out, Token{Secret: secret, Roles: rs})
		}
	}
	return out, nil
}

func roleList() string {
	names := make([]string, len(Roles))
	for i, r := range Roles {
		names[i] = string(r)
	}
	return strings.Join(names, ", ")
}

// authenticator checks bearer tokens. Only SHA-256 digests are kept: every check hashes
// the presented token and compares it with every known digest in constant time, so
// neither the match nor its position leaks through timing.
type authenticator struct {
	// tokens is swapped whole when the tokens file changes, so a check sees one set.
	tokens atomic.Pointer[[]tokenDigest]
}

type tokenDigest struct {
	sum   [sha256.Size]byte
	roles roleSet
}

func newAuthenticator(tokens []Token) *authenticator {
	a := &authenticator{}
	a.set(tokens)
	return a
}

func (a *authenticator) set(tokens []Token) {
	digests := make([]tokenDigest, 0, len(tokens))
	for _, t := range tokens {
		digests = append(digests, tokenDigest{sum: sha256.Sum256([]byte(t.Secret)), roles: rolesOf(t.Roles...)})
	}
	a.tokens.Store(&digests)
}

// SetTokens replaces the API's clients: requests from then on are checked against these
// tokens only (a running server re-reads its tokens file this way).
func (a *API) SetTokens(tokens []Token) { a.auth.set(tokens) }

// roles returns the roles the request's bearer token grants (0: none or no token).
func (a *authenticator) roles(r *http.Request) roleSet {
	h := r.Header.Get("Authorization")
	const prefix = "Bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return 0
	}
	return a.check(h[len(prefix):])
}

// check returns the roles a presented token grants (0: none).
func (a *authenticator) check(token string) roleSet {
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	var granted roleSet
	tokens := *a.tokens.Load()
	for i := range tokens {
		match := subtle.ConstantTimeCompare(sum[:], tokens[i].sum[:])
		granted |= tokens[i].roles & roleSet(-match)
	}
	return granted
}
