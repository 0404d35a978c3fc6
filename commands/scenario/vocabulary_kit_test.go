package scenario

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"accountd/domain"
)

// The words a story may use for codes are checked when it is read, so a misspelt reason or
// event fails at its line instead of turning into a confusing mismatch at run time.

var statuses = []string{
	domain.StatusActive, domain.StatusPendingActivation, domain.StatusLocked,
	domain.StatusPasswordExpired, domain.StatusDisabled, domain.StatusDeleted,
}

var decisions = []string{
	domain.DecisionAllowed, domain.DecisionDenied, domain.DecisionMFARequired,
	domain.DecisionMFAEnrollmentRequired, domain.DecisionPasswordChangeRequired,
}

// errorCodes are the stable codes of errors.go. Some commands refuse with a reason code
// (a wrong current password is invalid_credentials), so those are accepted too.
var errorCodes = []domain.Code{
	domain.CodeInvalidCommand, domain.CodeInvalidPolicy, domain.CodeInvalidEmail,
	domain.CodeEmailNotAvailable, domain.CodeAccountNotFound, domain.CodeAccountExists,
	domain.CodeAccountDeleted, domain.CodeAlreadyActivated, domain.CodeNotActivated,
	domain.CodeLinkInvalid, domain.CodeLinkExpired, domain.CodeLinkSuperseded, domain.CodeLinkUsed,
	domain.CodePasswordRejected, domain.CodeNotLocked, domain.CodeNotDisabled,
	domain.CodeAlreadyDisabled, domain.CodeMFANotEnrolled, domain.CodeMFAAlreadyEnrolled,
	domain.CodeMFANoPendingSecret, domain.CodeMFAInvalidCode, domain.CodeMFACooldown,
	domain.CodeDeferralNotAllowed, domain.CodeNotAuthorised, domain.CodePropertyNotFound,
	domain.CodePropertyExists, domain.CodeNotAMember, domain.CodeAlreadyMember,
	domain.CodeInvoiceStateUnknown, domain.CodeSessionNotFound, domain.CodeUnknownEventType,
	domain.CodeEmailConfusable, domain.CodeActorInactive,
}

var passwordRules = []string{
	domain.RuleTooShort, domain.RuleTooLong, domain.RuleTooCommon,
	domain.RuleContainsEmail, domain.RuleContainsUser, domain.RuleRecentlyUsed,
}

var subscriptions = []string{
	domain.SubscriptionPending, domain.SubscriptionActive, domain.SubscriptionSuspended, domain.SubscriptionCancelled,
}

var sessionEnds = []string{string(domain.SessionExpired), string(domain.SessionIdle), string(domain.SessionAccountBlocked), string(domain.SessionUnknown)}

var detectionActions = []string{"account_disabled", "recorded_for_review"}

func isReason(code string) bool { return slices.Contains(domain.ReasonCodes(), code) }

func isErrorCode(code string) bool {
	return slices.Contains(errorCodes, domain.Code(code)) || isReason(code)
}

// eventName is an event type as a story writes it: without its version suffix.
func eventName(typ string) string {
	if i := strings.LastIndex(typ, ".v"); i > 0 {
		return typ[:i]
	}
	return typ
}

func isEventName(name string) bool {
	for _, t := range domain.EventTypes() {
		if eventName(t) == name {
			return true
		}
	}
	return false
}

// policyKinds maps each setting's JSON name to the JSON kind of its value, read from the
// policy itself so a new setting is usable in stories without touching this package.
var policyKinds = func() map[string]byte {
	b, err := json.Marshal(domain.DefaultPolicy())
	if err != nil {
		panic(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		panic(err)
	}
	out := make(map[string]byte, len(m))
	for k, v := range m {
		out[k] = v[0]
	}
	return out
}()

func policyNames() []string {
	out := make([]string, 0, len(policyKinds))
	for k := range policyKinds {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

var numberWords = map[string]int{
	"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
	"nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
	"fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
}

var ordinals = map[string]int{
	"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5,
	"sixth": 6, "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10,
	"1st": 1, "2nd": 2, "3rd": 3, "4th": 4, "5th": 5,
}

func ordinalName(n int) string {
	for w, v := range ordinals {
		if v == n && !strings.ContainsAny(w, "0123456789") {
			return "the " + w
		}
	}
	return "the link number " + strconv.Itoa(n)
}

// reserved words cannot name a person or a property: they would make lines ambiguous.
var reserved = map[string]bool{
	"a": true, "an": true, "and": true, "as": true, "at": true, "by": true, "for": true,
	"from": true, "her": true, "his": true, "in": true, "of": true, "on": true, "someone": true,
	"support": true, "the": true, "their": true, "to": true, "with": true, "expect": true,
	"policy": true, "register": true, "property": true, "invoice": true, "subscription": true,
	"detect": true, "run": true, "add": true, "grant": true, "revoke": true, "common": true,
	"none": true, "mfa": true,
}

func validName(s string) bool {
	if s == "" || reserved[s] {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z':
		case i > 0 && (r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.'):
		default:
			return false
		}
	}
	return true
}
