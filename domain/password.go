package domain

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Password rule codes (R2.2, PCI 8.3.6 / 8.3.7). Each broken rule is reported, not just the first.
const (
	RuleTooShort      = "too_short"
	RuleTooLong       = "too_long"
	RuleTooCommon     = "too_common"
	RuleContainsEmail = "contains_email"
	RuleContainsUser  = "contains_username"
	RuleRecentlyUsed  = "recently_used"
)

// PasswordViolation is one rule a candidate password broke.
type PasswordViolation struct {
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

// PasswordCandidate is what the password rules need to judge a new password. The domain
// never hashes: the command side supplies the checks that need a hash or a word list.
type PasswordCandidate struct {
	Password string
	Email    string
	// IsCommon reports whether the password is in the common-password list (nil: no list).
	IsCommon func(password string) bool
	// MatchesHash reports whether the password matches a stored hash (for the history rule).
	MatchesHash func(hash string) bool
}

// CheckPassword returns every rule the candidate breaks under the policy, given the
// account's recent password hashes (newest first).
func CheckPassword(c PasswordCandidate, history []string, p Policy) []PasswordViolation {
	var out []PasswordViolation
	add := func(rule, msg string) { out = append(out, PasswordViolation{Rule: rule, Message: msg}) }
	n := utf8.RuneCountInString(c.Password)
	if n < p.PasswordMinLength {
		add(RuleTooShort, "must be at least "+strconv.Itoa(p.PasswordMinLength)+" characters")
	}
	if n > p.PasswordMaxLength {
		add(RuleTooLong, "must be at most "+strconv.Itoa(p.PasswordMaxLength)+" characters")
	}
	if c.IsCommon != nil && c.IsCommon(c.Password) {
		add(RuleTooCommon, "is too common")
	}
	lower := strings.ToLower(c.Password)
	email := NormaliseEmail(c.Email)
	if email != "" && strings.Contains(lower, email) {
		add(RuleContainsEmail, "must not contain the e-mail address")
	}
	if user, _, ok := strings.Cut(email, "@"); ok && len(user) >= 3 && strings.Contains(lower, user) {
		add(RuleContainsUser, "must not contain the username")
	}
	if c.MatchesHash != nil {
		depth := p.PasswordHistoryDepth
		for i := 0; i < len(history) && i < depth; i++ {
			if c.MatchesHash(history[i]) {
				add(RuleRecentlyUsed, "must differ from the last "+strconv.Itoa(depth)+" passwords")
				break
			}
		}
	}
	return out
}
