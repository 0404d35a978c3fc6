package scenario

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// preamble gives the cases a clock, a property and two people, so each case is about its
// own line.
const preamble = `# a test story
at 2026-03-02T09:00:00Z
property "Hotel du Lac" as lac
register anna@hotel-lac.example with password "Correct horse battery 42" at lac
register marco@hotel-lac.example with password "Blue lantern over water 5" at lac
`

const preambleLines = 5

func ptr[T any](v T) *T { return &v }

func TestParseSteps(t *testing.T) {
	nine := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	cases := []struct {
		line string
		want Action
	}{
		{"at 09:05", At{Time: nine.Add(5 * time.Minute)}},
		{"at 09:05:30", At{Time: nine.Add(5*time.Minute + 30*time.Second)}},
		{"at +91d", At{Time: nine.Add(91 * 24 * time.Hour)}},
		{"at 2026-03-03T00:00:00Z", At{Time: nine.Add(15 * time.Hour)}},
		{"policy lockout_threshold=7 billing_restore_delay=24h mfa_required=false", SetPolicy{Settings: []Setting{
			{Name: "lockout_threshold", Value: "7", JSON: "7"},
			{Name: "billing_restore_delay", Value: "24h", JSON: `"24h"`},
			{Name: "mfa_required", Value: "false", JSON: "false"},
		}}},
		{`common password "Hotel du Lac 2026"`, CommonPassword{Password: "Hotel du Lac 2026"}},
		{`property "Hotel Bellevue" as bellevue with primary contact direction@bellevue.example`,
			CreateProperty{Name: "Hotel Bellevue", Alias: "bellevue", Contact: "direction@bellevue.example"}},
		{`register giulia@hotel-lac.example with password "Quiet garden" at lac by marco`,
			Register{Email: "giulia@hotel-lac.example", Person: "giulia", Password: "Quiet garden", Property: "lac", By: &Actor{Person: "marco"}}},
		{`register reception@hotel-lac.example as desk with password "x" by support "REQ-1"`,
			Register{Email: "reception@hotel-lac.example", Person: "desk", Password: "x", By: &Actor{SupportRef: "REQ-1"}}},
		{"anna activates her account with the activation link", Activate{Person: "anna", Link: LinkRef{Kind: "activation"}}},
		{"anna activates with the second activation link", Activate{Person: "anna", Link: LinkRef{Kind: "activation", Nth: 2}}},
		{"anna asks for a new activation link", ResendActivation{Person: "anna"}},
		{`anna logs in with "wrong" six times`, Login{Person: "anna", Email: "anna@hotel-lac.example", Password: "wrong", Times: 6}},
		{`anna logs in with "wrong" 20 times at once`, Login{Person: "anna", Email: "anna@hotel-lac.example", Password: "wrong", Times: 20, AtOnce: true}},
		{`Anna logs in with "pw" and the current code`, Login{Person: "anna", Email: "anna@hotel-lac.example", Password: "pw", Code: &CodeRef{Kind: CodeCurrent}, Times: 1}},
		{`anna logs in with "pw" and the same code again`, Login{Person: "anna", Email: "anna@hotel-lac.example", Password: "pw", Code: &CodeRef{Kind: CodeAgain}, Times: 1}},
		{`anna logs in with "pw" and a wrong code five times`, Login{Person: "anna", Email: "anna@hotel-lac.example", Password: "pw", Code: &CodeRef{Kind: CodeWrong}, Times: 5}},
		{`anna logs in with "pw" and the code from 30s ago`, Login{Person: "anna", Email: "anna@hotel-lac.example", Password: "pw", Code: &CodeRef{Kind: CodeOffset, Offset: -30 * time.Second}, Times: 1}},
		{`anna logs in with "pw" and code "123456"`, Login{Person: "anna", Email: "anna@hotel-lac.example", Password: "pw", Code: &CodeRef{Kind: CodeLiteral, Literal: "123456"}, Times: 1}},
		{`someone logs in as nobody@hotel-lac.example with "pw" twice`, Login{Email: "nobody@hotel-lac.example", Password: "pw", Times: 2}},
		{"anna asks for a password reset", RequestReset{Person: "anna"}},
		{`anna resets her password to "New one 2026" with the first reset link`, ResetPassword{Person: "anna", NewPassword: "New one 2026", Link: LinkRef{Kind: "reset", Nth: 1}}},
		{`anna resets her password to "x" with a forged reset link`, ResetPassword{Person: "anna", NewPassword: "x", Link: LinkRef{Kind: "reset", Forged: true}}},
		{"anna asks for a new unlock link", RequestUnlock{Person: "anna"}},
		{"anna unlocks with the previous unlock link", UnlockWithLink{Person: "anna", Link: LinkRef{Kind: "unlock", Nth: -1}}},
		{`anna changes her password from "a" to "b"`, ChangePassword{Person: "anna", Current: "a", New: "b"}},
		{"anna starts mfa enrolment", StartMFA{Person: "anna"}},
		{"anna starts MFA enrollment", StartMFA{Person: "anna"}},
		{"anna confirms mfa with the current code", ConfirmMFA{Person: "anna", Code: CodeRef{Kind: CodeCurrent}}},
		{"anna defers mfa", DeferMFA{Person: "anna"}},
		{"anna resets her mfa with the current code", ResetMFA{By: Actor{Person: "anna"}, Person: "anna", Code: &CodeRef{Kind: CodeCurrent}}},
		{"marco resets mfa for anna", ResetMFA{By: Actor{Person: "marco"}, Person: "anna"}},
		{`support "REQ-9" resets mfa for anna`, ResetMFA{By: Actor{SupportRef: "REQ-9"}, Person: "anna"}},
		{"marco unlocks anna", AdminUnlock{By: Actor{Person: "marco"}, Person: "anna"}},
		{"marco disables anna at lac", Disable{By: Actor{Person: "marco"}, Person: "anna", Property: "lac"}},
		{"marco disables anna for suspicious activity", Disable{By: Actor{Person: "marco"}, Person: "anna", Suspicious: true}},
		{"marco enables anna", Enable{By: Actor{Person: "marco"}, Person: "anna"}},
		{"marco deletes anna", Delete{By: Actor{Person: "marco"}, Person: "anna"}},
		{"add anna to lac", AddMember{Person: "anna", Property: "lac"}},
		{"grant user management to marco at lac", UserManagement{Person: "marco", Property: "lac"}},
		{"revoke user management from marco at lac", UserManagement{Person: "marco", Property: "lac", Revoke: true}},
		{"invoice INV#3 of lac is overdue", Invoice{Property: "lac", Invoice: "INV#3"}},
		{"invoice INV-4 of lac is paid", Invoice{Property: "lac", Invoice: "INV-4", Paid: true}},
		{"subscription of lac becomes cancelled", ChangeSubscription{Property: "lac", To: "cancelled"}},
		{`detect "shared login" on anna from "203.0.113.9" and "198.51.100.7" on devices "pc" for review`,
			Detect{Person: "anna", Rule: "shared login", Addresses: []string{"203.0.113.9", "198.51.100.7"}, Devices: []string{"pc"}, ForReview: true}},
		{`detect "shared login" on anna`, Detect{Person: "anna", Rule: "shared login"}},
		{"anna uses her session", UseSession{Person: "anna"}},
		{"run the inactivity sweep # every account", InactivitySweep{}},
		{"expect decision denied, reason account_locked, attempts remaining 0, retry after 30m, no last attempt warning",
			ExpectDecision{Decision: "denied", Reason: ptr("account_locked"), AttemptsRemaining: ptr(0), RetryAfter: ptr(30 * time.Minute), Warning: ptr(false)}},
		{"expect error password_rejected because too_short, contains_email", ExpectError{Code: "password_rejected", Because: []string{"too_short", "contains_email"}}},
		{"expect policy error lockout_threshold and password_min_length", ExpectPolicyError{Fields: []string{"lockout_threshold", "password_min_length"}}},
		{"expect status locked with reasons account_locked", ExpectStatus{Person: "marco", Status: "locked", Reasons: []string{"account_locked"}}},
		{"expect status for anna: active", ExpectStatus{Person: "anna", Status: "active", Reasons: []string{}}},
		{"expect events for anna: login_failed x6, account_locked, unlock_link_issued",
			ExpectEvents{Stream: "anna", Events: []EventCount{{"login_failed", 6}, {"account_locked", 1}, {"unlock_link_issued", 1}}}},
		{"expect events for lac: none", ExpectEvents{Stream: "lac", Events: []EventCount{}}},
		{"expect no events for anna", ExpectEvents{Stream: "anna", Events: []EventCount{}}},
		{"expect access for anna: lac denied (disabled_billing)", ExpectAccess{Person: "anna", Properties: []PropertyAccess{{Property: "lac", Reasons: []string{"disabled_billing"}}}}},
		{"expect session for anna: closes after 15h, idle after 6h, closed because idle_timeout",
			ExpectSession{Person: "anna", ClosesAfter: ptr(15 * time.Hour), IdleAfter: ptr(6 * time.Hour), ClosedBecause: "idle_timeout"}},
		{"expect open sessions for anna: 0", ExpectOpenSessions{Person: "anna", Count: 0}},
		{`expect audit for anna: rule "shared login", from "a" and "b", action account_disabled, notified x@y.example`,
			ExpectAudit{Person: "anna", Rule: "shared login", Addresses: []string{"a", "b"}, Action: "account_disabled", Notified: "x@y.example"}},
	}
	for _, c := range cases {
		t.Run(c.line, func(t *testing.T) {
			st, err := Parse("t.story", []byte(preamble+c.line+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			if len(st.Steps) != preambleLines {
				t.Fatalf("got %d steps, want %d", len(st.Steps), preambleLines)
			}
			got := st.Steps[preambleLines-1]
			if got.Line != preambleLines+1 {
				t.Errorf("line = %d, want %d", got.Line, preambleLines+1)
			}
			if !reflect.DeepEqual(got.Do, c.want) {
				t.Errorf("parsed\n  %#v\nwant\n  %#v", got.Do, c.want)
			}
		})
	}
}

func TestParseStoryHeader(t *testing.T) {
	st, err := Parse("t.story", []byte("# Title line (R1.1)\n# more prose\nskip: the engine does X\n"+preamble[len("# a test story\n"):]))
	if err != nil {
		t.Fatal(err)
	}
	if st.Title != "Title line (R1.1)" || st.Skip != "the engine does X" || st.SkipLine != 3 {
		t.Fatalf("title %q skip %q at %d", st.Title, st.Skip, st.SkipLine)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name  string
		story string // lines after the preamble (at line 6) unless full
		full  bool
		want  []string // fragments the error must contain
	}{
		{"unknown step", "anna logs inn with \"pw\"", false, []string{"t.story:6:", "not a step", `anna logs inn with "pw"`, "<person> logs in with"}},
		{"misspelt verb hint", "anna activate her account with the activation link", false, []string{"t.story:6:"}},
		{"unknown person", `bob logs in with "pw"`, false, []string{"t.story:6:", `nobody called "bob"`, "known: anna, marco"}},
		{"unknown property", "add anna to sea", false, []string{"t.story:6:", `no property called "sea"`}},
		{"unknown event", "expect events for anna: login_fail", false, []string{"t.story:6:", `"login_fail" is not an event type`}},
		{"versioned event name", "expect events for anna: login_failed.v1", false, []string{"t.story:6:", "without its version"}},
		{"bad repetition", "expect events for anna: login_failed xsix", false, []string{"t.story:6:", `repetition "xsix"`}},
		{"unknown reason", "expect status locked with reasons acount_locked", false, []string{"t.story:6:", `"acount_locked" is not a reason code`}},
		{"unknown status", "expect status blocked", false, []string{"t.story:6:", `status "blocked" is not one of`}},
		{"unknown decision", "expect decision refused", false, []string{"t.story:6:", `decision "refused"`}},
		{"bad decision clause", "expect decision denied, because locked", false, []string{"t.story:6:", "a decision clause is"}},
		{"unknown error code", "expect error link_gone", false, []string{"t.story:6:", `"link_gone" is not an error code`}},
		{"unknown password rule", "expect error password_rejected because too_weak", false, []string{"t.story:6:", `"too_weak" is not a password rule`}},
		{"unknown expectation", "expect weather sunny", false, []string{"t.story:6:", "an expectation is one of"}},
		{"trailing words", "expect open sessions for anna: 1 please", false, []string{"t.story:6:", "unexpected please"}},
		{"unknown policy setting", "policy lockout_treshold=6", false, []string{"t.story:6:", `"lockout_treshold" is not a policy setting`}},
		{"policy not name=value", "policy lockout_threshold", false, []string{"t.story:6:", "is not name=value"}},
		{"policy wrong type", "policy lockout_threshold=six", false, []string{"t.story:6:", "whole number"}},
		{"policy bad duration", "policy reset_link_ttl=a-day", false, []string{"t.story:6:", "reset_link_ttl=a-day"}},
		{"policy bad bool", "policy mfa_required=yes", false, []string{"t.story:6:", "true or false"}},
		{"policy set twice", "policy lockout_threshold=6 lockout_threshold=7", false, []string{"t.story:6:", "set twice"}},
		{"unknown policy field in expectation", "expect policy error lockout", false, []string{"t.story:6:", `"lockout" is not a policy setting`}},
		{"time backwards", "at 08:00", false, []string{"t.story:6:", "time goes backwards"}},
		{"bad time", "at noon", false, []string{"t.story:6:", `"noon" is not a time`}},
		{"unclosed quote", `anna logs in with "pw`, false, []string{"t.story:6:", "never closed"}},
		{"wrong link kind", `anna resets her password to "x" with the unlock link`, false, []string{"t.story:6:", "needs a reset link"}},
		{"unknown subscription state", "subscription of lac becomes paused", false, []string{"t.story:6:", `"paused" is not one of`}},
		{"known address as someone", `someone logs in as anna@hotel-lac.example with "pw"`, false, []string{"t.story:6:", "anna's address"}},
		{"name taken by another address", `register anna@other.example with password "x"`, false, []string{"t.story:6:", `"anna" already stands for anna@hotel-lac.example`}},
		{"reserved name", `register support@hotel-lac.example with password "x"`, false, []string{"t.story:6:", "add `as NAME`"}},
		{"skip without reason", "skip:", false, []string{"t.story:6:", "says why"}},
		{"step before the clock", "property \"Hotel\" as h\nat 2026-03-02T09:00:00Z", true, []string{"t.story:1:", "clock is not set"}},
		{"relative time first", "at +10m", true, []string{"t.story:1:", "needs an absolute one"}},
		{"check without a subject", "at 2026-03-02T09:00:00Z\nexpect status active", true, []string{"t.story:2:", "say whose"}},
		{"empty story", "# only a title", true, []string{"t.story:1:", "no steps"}},
		{"every bad line is reported", "anna dances\nexpect status dancing\nanna logs in with \"pw\"", false, []string{"t.story:6:", "t.story:7:"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := c.story
			if !c.full {
				src = preamble + c.story
			}
			_, err := Parse("t.story", []byte(src+"\n"))
			if err == nil {
				t.Fatal("parsed without error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestLex(t *testing.T) {
	cases := []struct {
		line string
		want []token
	}{
		{`expect events for anna: a x6, b`, []token{{text: "expect"}, {text: "events"}, {text: "for"}, {text: "anna"}, {text: ":"}, {text: "a"}, {text: "x6"}, {text: ","}, {text: "b"}}},
		{`at 09:05 # five past`, []token{{text: "at"}, {text: "09:05"}}},
		{`a "x, y # z" INV#3`, []token{{text: "a"}, {text: "x, y # z", quoted: true}, {text: "INV#3"}}},
		{`"say \"hi\""`, []token{{text: `say "hi"`, quoted: true}}},
		{`lac denied (disabled_billing)`, []token{{text: "lac"}, {text: "denied"}, {text: "("}, {text: "disabled_billing"}, {text: ")"}}},
	}
	for _, c := range cases {
		got, err := lex(c.line)
		if err != nil {
			t.Fatalf("%s: %v", c.line, err)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("lex(%s) = %v, want %v", c.line, got, c.want)
		}
	}
}
