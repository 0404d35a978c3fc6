package domain

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Policy holds every number of the rulebook (RULES.md) as a setting. Defaults are the
// values RULES.md names; where the seeds disagree the default is the one it chose.
type Policy struct {
	// R1.1: consecutive wrong passwords that lock the account (seeds 000/002: 6, 001: 7; PCI caps at 10).
	LockoutThreshold int `json:"lockout_threshold"`
	// R1.4: 0 means "until identity is confirmed" (no silent unlock); otherwise a timed
	// unlock after at least 30 minutes (PCI DSS 8.3.4).
	LockoutDuration Duration `json:"lockout_duration"`
	// R2.1 / PCI 8.3.9.
	PasswordMaxAge Duration `json:"password_max_age"`
	// R2.2: 10 in the seeds, 12 in PCI DSS v4 8.3.6.
	PasswordMinLength int `json:"password_min_length"`
	// OWASP: allow long passphrases; 64 is the least a policy may allow.
	PasswordMaxLength int `json:"password_max_length"`
	// R2.2 / PCI 8.3.7: a new password differs from this many previous ones.
	PasswordHistoryDepth int `json:"password_history_depth"`
	// R2.3 / R2.4: validity of e-mailed links.
	ResetLinkTTL      Duration `json:"reset_link_ttl"`
	ActivationLinkTTL Duration `json:"activation_link_ttl"`
	UnlockLinkTTL     Duration `json:"unlock_link_ttl"`
	// R6.3: MFA enrolment is required, and may be deferred this long after the first login.
	MFARequired       bool     `json:"mfa_required"`
	MFAEnrolmentGrace Duration `json:"mfa_enrolment_grace"`
	MFAMaxFailures    int      `json:"mfa_max_failures"`
	MFACooldown       Duration `json:"mfa_cooldown"`
	MFAClockSkewSteps int      `json:"mfa_clock_skew_steps"`
	// R7.1: sessions close after this long, or after this long without activity.
	SessionMaxAge      Duration `json:"session_max_age"`
	SessionIdleTimeout Duration `json:"session_idle_timeout"`
	// R4.1 / R4.2.
	BillingOverdueThreshold int      `json:"billing_overdue_threshold"`
	BillingRestoreDelay     Duration `json:"billing_restore_delay"`
	// PCI 8.2.6.
	InactivityDisableAfter Duration `json:"inactivity_disable_after"`
	// R8.2: "specific" tells the person the precise reason, "generic" one message for all.
	Disclosure Disclosure `json:"disclosure"`
}

// Disclosure decides what the end user is told about a refusal (R8.2).
type Disclosure string

const (
	DisclosureSpecific Disclosure = "specific"
	DisclosureGeneric  Disclosure = "generic"
)

const day = 24 * time.Hour

// DefaultPolicy is the policy RULES.md describes.
func DefaultPolicy() Policy {
	return Policy{
		LockoutThreshold:        6,
		LockoutDuration:         0,
		PasswordMaxAge:          Duration(90 * day),
		PasswordMinLength:       12,
		PasswordMaxLength:       128,
		PasswordHistoryDepth:    4,
		ResetLinkTTL:            Duration(24 * time.Hour),
		ActivationLinkTTL:       Duration(24 * time.Hour),
		UnlockLinkTTL:           Duration(24 * time.Hour),
		MFARequired:             true,
		MFAEnrolmentGrace:       Duration(30 * day),
		MFAMaxFailures:          5,
		MFACooldown:             Duration(60 * time.Second),
		MFAClockSkewSteps:       1,
		SessionMaxAge:           Duration(15 * time.Hour),
		SessionIdleTimeout:      Duration(6 * time.Hour),
		BillingOverdueThreshold: 2,
		BillingRestoreDelay:     0,
		InactivityDisableAfter:  Duration(90 * day),
		Disclosure:              DisclosureSpecific,
	}
}

// PolicyError lists every setting that is out of range, so an operator fixes them in one go.
type PolicyError struct {
	Problems []PolicyProblem
}

// PolicyProblem names one bad setting by its JSON name.
type PolicyProblem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *PolicyError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Field + ": " + p.Message
	}
	return "invalid policy: " + strings.Join(parts, "; ")
}

// Code is the stable error code.
func (e *PolicyError) Code() string { return CodeInvalidPolicy }

// policyBound is the range one numeric setting may take. lo and hi are a count, or
// nanoseconds for a duration.
type policyBound struct {
	name, rule string
	lo, hi     int64
	// zeroMeans, when set, allows 0 outside the range and says what it means.
	zeroMeans string
}

// policyBounds are the bounds the rulebook and PCI DSS allow; Validate checks them and
// PolicySettings shows them, so what is refused and what is documented cannot differ.
var policyBounds = []policyBound{
	{name: "lockout_threshold", rule: "R1.1, PCI 8.3.4", lo: 1, hi: 10},
	{name: "lockout_duration", rule: "R1.4, PCI 8.3.4", lo: int64(30 * time.Minute), hi: int64(365 * day), zeroMeans: "until identity is confirmed"},
	{name: "password_max_age", rule: "R2.1, PCI 8.3.9", lo: int64(day), hi: int64(365 * day)},
	{name: "password_min_length", rule: "R2.2, PCI 8.3.6", lo: 10, hi: 64}, // R2.2: the seeds never go below 10
	{name: "password_max_length", rule: "OWASP", lo: 64, hi: 1024},
	{name: "password_history_depth", rule: "R2.2, PCI 8.3.7", lo: 0, hi: 24},
	{name: "reset_link_ttl", rule: "R2.3", lo: int64(time.Minute), hi: int64(7 * day)},
	{name: "activation_link_ttl", rule: "R2.4", lo: int64(time.Minute), hi: int64(30 * day)},
	{name: "unlock_link_ttl", rule: "R1.4", lo: int64(time.Minute), hi: int64(7 * day)},
	{name: "mfa_enrolment_grace", rule: "R6.3", lo: 0, hi: int64(30 * day)}, // R6.3: skipped for at most 30 days
	{name: "mfa_max_failures", rule: "R6.2", lo: 1, hi: 20},
	{name: "mfa_cooldown", rule: "R6.2", lo: int64(time.Second), hi: int64(day)},
	{name: "mfa_clock_skew_steps", rule: "R6.5", lo: 0, hi: 3},
	{name: "session_max_age", rule: "R7.1", lo: int64(time.Minute), hi: int64(30 * day)},
	{name: "session_idle_timeout", rule: "R7.1", lo: int64(time.Minute), hi: int64(30 * day)},
	{name: "billing_overdue_threshold", rule: "R4.1", lo: 1, hi: 100},
	{name: "billing_restore_delay", rule: "R4.2", lo: 0, hi: int64(30 * day)},
	{name: "inactivity_disable_after", rule: "PCI 8.2.6", lo: int64(day), hi: int64(3650 * day)},
}

// PolicySetting describes one setting for people: its policy-file name, the rule it
// carries and the values it may take.
type PolicySetting struct {
	Name, Rule, Allowed string
}

// PolicySettings lists every setting in the policy's field order.
func PolicySettings() []PolicySetting {
	bounds := map[string]policyBound{}
	for _, b := range policyBounds {
		bounds[b.name] = b
	}
	var out []PolicySetting
	t := reflect.TypeFor[Policy]()
	for i := range t.NumField() {
		f := t.Field(i)
		name := jsonName(f)
		s := PolicySetting{Name: name}
		switch b, ok := bounds[name]; {
		case ok:
			lo, hi := formatBound(f.Type, b.lo), formatBound(f.Type, b.hi)
			s.Rule, s.Allowed = b.rule, lo+" to "+hi
			if b.zeroMeans != "" {
				s.Allowed = "0 (" + b.zeroMeans + ") or " + s.Allowed
			}
		case name == "mfa_required":
			s.Rule, s.Allowed = "R6.3", "true or false"
		case name == "disclosure":
			s.Rule, s.Allowed = "R8.2", string(DisclosureSpecific)+" or "+string(DisclosureGeneric)
		}
		out = append(out, s)
	}
	return out
}

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return name
}

func formatBound(t reflect.Type, v int64) string {
	if t == reflect.TypeFor[Duration]() {
		return Duration(v).String()
	}
	return strconv.FormatInt(v, 10)
}

// Validate checks every setting against the bounds the rulebook and PCI DSS allow.
func (p Policy) Validate() error {
	var probs []PolicyProblem
	bad := func(field, format string, args ...any) {
		probs = append(probs, PolicyProblem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	v := reflect.ValueOf(p)
	t := v.Type()
	for i := range t.NumField() {
		name := jsonName(t.Field(i))
		for _, b := range policyBounds {
			if b.name != name {
				continue
			}
			f := v.Field(i)
			n := f.Int()
			if n == 0 && b.zeroMeans != "" || n >= b.lo && n <= b.hi {
				continue
			}
			if f.Type() == reflect.TypeFor[Duration]() {
				bad(name, "%s is out of range: must be between %s and %s", Duration(n), Duration(b.lo), Duration(b.hi))
			} else {
				bad(name, "%d is out of range: must be between %d and %d", n, b.lo, b.hi)
			}
		}
	}
	if p.SessionIdleTimeout > p.SessionMaxAge {
		bad("session_idle_timeout", "%s is longer than session_max_age %s", p.SessionIdleTimeout, p.SessionMaxAge)
	}
	if p.Disclosure != DisclosureSpecific && p.Disclosure != DisclosureGeneric {
		bad("disclosure", "%q is not one of %q, %q", p.Disclosure, DisclosureSpecific, DisclosureGeneric)
	}
	if len(probs) > 0 {
		return &PolicyError{Problems: probs}
	}
	return nil
}

// ParsePolicyJSON reads a policy document on top of the defaults, refusing unknown fields
// so that a misspelt setting is an error rather than silently ignored.
func ParsePolicyJSON(data []byte) (Policy, error) {
	p := DefaultPolicy()
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Policy{}, &PolicyError{Problems: []PolicyProblem{{Field: "(document)", Message: err.Error()}}}
	}
	return p, p.Validate()
}

// Duration is a time.Duration that reads and writes as text ("90d", "15h", "30m", "60s").
type Duration time.Duration

// Std returns the standard library duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

func (d Duration) String() string {
	td := time.Duration(d)
	if td != 0 && td%day == 0 {
		return strconv.FormatInt(int64(td/day), 10) + "d"
	}
	return td.String()
}

// ParseDuration accepts Go durations plus a whole number of days ("90d").
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.ParseInt(n, 10, 64)
		if err != nil || days < 0 || days > 100000 {
			return 0, fmt.Errorf("invalid duration %q: days must be a whole number", s)
		}
		return Duration(time.Duration(days) * day), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: use forms like 90d, 15h, 30m, 60s", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("invalid duration %q: negative", s)
	}
	return Duration(d), nil
}

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New("duration must be a string such as \"90d\" or \"15m\"")
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}
