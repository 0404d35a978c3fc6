package domain

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestDefaultPolicyIsValidAndMatchesRules(t *testing.T) {
	p := DefaultPolicy()
	if err := p.Validate(); err != nil {
		t.Fatalf("default policy invalid: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"R1.1 lockout threshold", p.LockoutThreshold, 6},
		{"R1.4 lock until identity confirmed", p.LockoutDuration, Duration(0)},
		{"R2.1 password max age", p.PasswordMaxAge.Std(), 90 * 24 * time.Hour},
		{"R2.2 min length (PCI)", p.PasswordMinLength, 12},
		{"R2.2 history depth", p.PasswordHistoryDepth, 4},
		{"R2.3 reset link ttl", p.ResetLinkTTL.Std(), 24 * time.Hour},
		{"R2.4 activation ttl", p.ActivationLinkTTL.Std(), 24 * time.Hour},
		{"R6.2 mfa failures", p.MFAMaxFailures, 5},
		{"R6.2 mfa cooldown", p.MFACooldown.Std(), 60 * time.Second},
		{"R6.3 mfa grace", p.MFAEnrolmentGrace.Std(), 30 * 24 * time.Hour},
		{"R7.1 session max", p.SessionMaxAge.Std(), 15 * time.Hour},
		{"R7.1 session idle", p.SessionIdleTimeout.Std(), 6 * time.Hour},
		{"R4.1 overdue threshold", p.BillingOverdueThreshold, 2},
		{"R4.2 restore delay", p.BillingRestoreDelay, Duration(0)},
		{"8.2.6 inactivity", p.InactivityDisableAfter.Std(), 90 * 24 * time.Hour},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestPolicyValidationNamesEveryBadField(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*Policy)
		fields []string
	}{
		{"threshold 0", func(p *Policy) { p.LockoutThreshold = 0 }, []string{"lockout_threshold"}},
		{"threshold 11 above PCI cap", func(p *Policy) { p.LockoutThreshold = 11 }, []string{"lockout_threshold"}},
		{"seed 001 threshold 7 is fine", func(p *Policy) { p.LockoutThreshold = 7 }, nil},
		{"timed unlock under 30 minutes", func(p *Policy) { p.LockoutDuration = Duration(10 * time.Minute) }, []string{"lockout_duration"}},
		{"timed unlock of 30 minutes", func(p *Policy) { p.LockoutDuration = Duration(30 * time.Minute) }, nil},
		{"min length 9 below the seeds' 10", func(p *Policy) { p.PasswordMinLength = 9 }, []string{"password_min_length"}},
		{"min length 10 as the seeds", func(p *Policy) { p.PasswordMinLength = 10 }, nil},
		{"mfa grace beyond 30 days", func(p *Policy) { p.MFAEnrolmentGrace = Duration(31 * 24 * time.Hour) }, []string{"mfa_enrolment_grace"}},
		{"max length below 64", func(p *Policy) { p.PasswordMaxLength = 32 }, []string{"password_max_length"}},
		{"idle longer than max", func(p *Policy) { p.SessionIdleTimeout = Duration(20 * time.Hour) }, []string{"session_idle_timeout"}},
		{"unknown disclosure", func(p *Policy) { p.Disclosure = "loud" }, []string{"disclosure"}},
		{"two at once", func(p *Policy) { p.LockoutThreshold = 0; p.MFAMaxFailures = 0 }, []string{"lockout_threshold", "mfa_max_failures"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := DefaultPolicy()
			c.mutate(&p)
			err := p.Validate()
			if len(c.fields) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var pe *PolicyError
			if !errors.As(err, &pe) {
				t.Fatalf("want *PolicyError, got %v", err)
			}
			if ErrorCode(err) != CodeInvalidPolicy {
				t.Fatalf("code = %q", ErrorCode(err))
			}
			if len(pe.Problems) != len(c.fields) {
				t.Fatalf("problems = %+v, want fields %v", pe.Problems, c.fields)
			}
			for i, f := range c.fields {
				if pe.Problems[i].Field != f {
					t.Errorf("problem %d field = %q, want %q", i, pe.Problems[i].Field, f)
				}
			}
		})
	}
}

func TestParsePolicyJSON(t *testing.T) {
	p, err := ParsePolicyJSON([]byte(`{"lockout_threshold": 7, "password_max_age": "60d", "mfa_cooldown": "2m"}`))
	if err != nil {
		t.Fatal(err)
	}
	if p.LockoutThreshold != 7 || p.PasswordMaxAge.Std() != 60*24*time.Hour || p.MFACooldown.Std() != 2*time.Minute {
		t.Fatalf("parsed %+v", p)
	}
	if p.SessionMaxAge != DefaultPolicy().SessionMaxAge {
		t.Fatal("unset fields must keep their defaults")
	}
	for _, bad := range []string{`{"lockout_treshold": 6}`, `{"password_max_age": "ninety days"}`, `{"lockout_threshold": 11}`, `not json`} {
		if _, err := ParsePolicyJSON([]byte(bad)); err == nil || ErrorCode(err) != CodeInvalidPolicy {
			t.Errorf("%s: want invalid_policy, got %v", bad, err)
		}
	}
}

func TestDurationTextRoundTrip(t *testing.T) {
	for _, s := range []string{"90d", "15h0m0s", "30m0s", "1m0s", "0s"} {
		d, err := ParseDuration(s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if d.String() != strings.TrimSuffix(s, "") {
			t.Errorf("%s -> %s", s, d)
		}
	}
	if _, err := ParseDuration("-5m"); err == nil {
		t.Error("negative duration accepted")
	}
}

// Every bound PolicySettings shows is the one Validate applies: its ends pass, one step
// beyond fails naming the setting.
func TestPolicyBoundsAreWhatValidateChecks(t *testing.T) {
	for _, b := range policyBounds {
		set := func(n int64) Policy {
			p := DefaultPolicy()
			if b.name == "session_idle_timeout" || b.name == "session_max_age" {
				p.SessionIdleTimeout, p.SessionMaxAge = Duration(time.Minute), Duration(30*day)
			}
			v := reflect.ValueOf(&p).Elem()
			for i := range v.NumField() {
				if jsonName(v.Type().Field(i)) == b.name {
					v.Field(i).SetInt(n)
					return p
				}
			}
			t.Fatalf("%s names no policy field", b.name)
			return p
		}
		for _, tc := range []struct {
			n     int64
			valid bool
		}{{b.lo, true}, {b.hi, true}, {b.lo - 1, b.lo == 1 && b.zeroMeans != ""}, {b.hi + 1, false}} {
			if b.name == "session_idle_timeout" && tc.n > b.lo {
				continue // bounded by session_max_age too
			}
			err := set(tc.n).Validate()
			if (err == nil) != tc.valid || err != nil && !strings.Contains(err.Error(), b.name) {
				t.Errorf("%s = %d: %v, want valid %v", b.name, tc.n, err, tc.valid)
			}
		}
	}
	named := map[string]bool{}
	for _, s := range PolicySettings() {
		if s.Allowed == "" {
			t.Errorf("%s: no allowed values", s.Name)
		}
		named[s.Name] = true
	}
	if len(named) != reflect.TypeFor[Policy]().NumField() {
		t.Errorf("PolicySettings names %d settings, the policy has %d", len(named), reflect.TypeFor[Policy]().NumField())
	}
}

// The rulebook beside this code names every policy setting with its default, as
// "`name` [default]", so a reader finds each number and a change of default shows there.
func TestRulebookNamesEverySettingWithItsDefault(t *testing.T) {
	text, err := os.ReadFile("RULES.md")
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := json.Marshal(DefaultPolicy())
	var defaults map[string]any
	if err := json.Unmarshal(doc, &defaults); err != nil {
		t.Fatal(err)
	}
	for _, s := range PolicySettings() {
		m := regexp.MustCompile("`" + s.Name + "` \\[([^]:]+)").FindSubmatch(text)
		if m == nil {
			t.Errorf("RULES.md does not name `%s` [default]", s.Name)
			continue
		}
		written, def := string(m[1]), fmt.Sprint(defaults[s.Name])
		if d, err := ParseDuration(written); err == nil && s.Name != "disclosure" {
			want, _ := ParseDuration(def)
			written, def = d.String(), want.String()
		}
		if written != def {
			t.Errorf("RULES.md gives `%s` [%s], the default is %s", s.Name, m[1], def)
		}
	}
}
