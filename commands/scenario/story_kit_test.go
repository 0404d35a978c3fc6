// Package scenario reads account-state stories (testdata/scenarios/*.story) and plays them
// against the command side on an in-memory log. A story is written for a reader who checks
// the rulebook, not for a programmer: one step per line, in plain words, with the rule it
// illustrates in its title. The grammar is documented in testdata/scenarios/README.md.
//
// The interpreter is a test kit: every file of it is a _test.go file, so no production
// package can import it; scenario_test.go runs the stories with it.
package scenario

import (
	"fmt"
	"time"
)

// Story is one parsed file.
type Story struct {
	File  string // as given to Parse, used in every message
	Title string // the first comment line
	// Skip, when set, is why the story is known not to pass against the current engine.
	Skip     string
	SkipLine int
	Steps    []Step
}

// Step is one line of a story.
type Step struct {
	Line int
	Text string // the line as written, trimmed, for messages
	Do   Action
}

// Action is what a step does: a command or a time change (acts) or a check (expectations).
type Action interface{ expectation() bool }

type act struct{}

func (act) expectation() bool { return false }

type check struct{}

func (check) expectation() bool { return true }

// --- acts -------------------------------------------------------------------------------

// At moves the story's clock; the parser has already resolved relative forms.
type At struct {
	act
	Time time.Time
}

// SetPolicy overrides settings by their JSON names, on top of the policy in force.
type SetPolicy struct {
	act
	Settings []Setting
}

// Setting is one name=value of a policy line, with the JSON value it stands for.
type Setting struct {
	Name  string
	Value string
	JSON  string
}

// CommonPassword adds a password to the story's common-password list (R2.2): the runner
// has no list of its own, so a story that relies on one says what is in it.
type CommonPassword struct {
	act
	Password string
}

type CreateProperty struct {
	act
	Name    string
	Alias   string
	Contact string
}

// AddMember links an existing account to a property on both sides (setup by support).
type AddMember struct {
	act
	Person   string
	Property string
}

type UserManagement struct {
	act
	Person   string
	Property string
	Revoke   bool
}

type Register struct {
	act
	Email    string
	Person   string
	Password string
	Property string
	By       *Actor // nil: the person registers themself
}

type Activate struct {
	act
	Person string
	Link   LinkRef
}

type ResendActivation struct {
	act
	Person string
}

// Login is one or more sign-in attempts. Person is empty for an address nobody registered.
type Login struct {
	act
	Person   string
	Email    string
	Password string
	Code     *CodeRef
	Times    int
	AtOnce   bool
}

type RequestReset struct {
	act
	Person string
}

type ResetPassword struct {
	act
	Person      string
	NewPassword string
	Link        LinkRef
}

type RequestUnlock struct {
	act
	Person string
}

type UnlockWithLink struct {
	act
	Person string
	Link   LinkRef
}

type ChangePassword struct {
	act
	Person  string
	Current string
	New     string
}

type StartMFA struct {
	act
	Person string
}

type ConfirmMFA struct {
	act
	Person string
	Code   CodeRef
}

type DeferMFA struct {
	act
	Person string
}

// ResetMFA is a reset by the holder (By.Person == Person, with Code) or by someone else.
type ResetMFA struct {
	act
	By     Actor
	Person string
	Code   *CodeRef
}

type AdminUnlock struct {
	act
	By     Actor
	Person string
}

type Disable struct {
	act
	By         Actor
	Person     string
	Property   string
	Suspicious bool
}

type Enable struct {
	act
	By       Actor
	Person   string
	Property string
}

type Delete struct {
	act
	By     Actor
	Person string
}

type Invoice struct {
	act
	Property string
	Invoice  string
	Paid     bool
}

type ChangeSubscription struct {
	act
	Property string
	To       string
	By       *Actor
}

// Detect is a detector's finding (R3): it disables the account unless ForReview.
type Detect struct {
	act
	Person    string
	Rule      string
	Addresses []string
	Devices   []string
	ForReview bool
}

// UseSession is a request made with the session the person's latest login opened (R7.1).
type UseSession struct {
	act
	Person string
}

// InactivitySweep runs the inactivity rule (PCI 8.2.6) over every account of the story.
type InactivitySweep struct{ act }

// Actor is who performs an administrative step: a person of the story, or support acting on
// a written request (R5.1).
type Actor struct {
	Person     string
	SupportRef string
}

func (a Actor) String() string {
	if a.Person != "" {
		return a.Person
	}
	return fmt.Sprintf("support %q", a.SupportRef)
}

// LinkRef names one of the e-mailed links a person received.
type LinkRef struct {
	Kind   string // activation, reset, unlock
	Nth    int    // 1 = first ever received; 0 = latest; -1 = the one before the latest
	Forged bool   // a link the engine never issued
}

func (l LinkRef) String() string {
	switch {
	case l.Forged:
		return "a forged " + l.Kind + " link"
	case l.Nth == 0:
		return "the latest " + l.Kind + " link"
	case l.Nth == -1:
		return "the previous " + l.Kind + " link"
	}
	return fmt.Sprintf("%s %s link", ordinalName(l.Nth), l.Kind)
}

// CodeRef names a TOTP code relative to the story's clock.
type CodeRef struct {
	Kind    string        // current, again, wrong, offset, literal
	Offset  time.Duration // for offset: negative is in the past
	Literal string
}

const (
	CodeCurrent = "current"
	CodeAgain   = "again"
	CodeWrong   = "wrong"
	CodeOffset  = "offset"
	CodeLiteral = "literal"
)

// --- expectations -------------------------------------------------------------------------

// ExpectDecision checks the outcome of the last login attempt.
type ExpectDecision struct {
	check
	Decision          string
	Reason            *string
	AttemptsRemaining *int
	RetryAfter        *time.Duration
	Warning           *bool
}

// ExpectError checks the refusal of the previous command; Because, when not nil, is the
// exact set of password rules it broke.
type ExpectError struct {
	check
	Code    string
	Because []string
}

// ExpectPolicyError checks that the previous policy line was refused for exactly these settings.
type ExpectPolicyError struct {
	check
	Fields []string
}

// ExpectStatus checks the status and the full set of reasons (none when Reasons is empty).
type ExpectStatus struct {
	check
	Person  string
	Status  string
	Reasons []string
}

// ExpectEvents checks the exact sequence of events appended to a person's or a property's
// stream in the current window (see README).
type ExpectEvents struct {
	check
	Stream string // a person or a property
	Events []EventCount
}

type EventCount struct {
	Type  string
	Times int
}

type ExpectAccess struct {
	check
	Person     string
	Properties []PropertyAccess
}

type PropertyAccess struct {
	Property string
	Allowed  bool
	Reasons  []string // nil: not checked
}

// ExpectSession checks the latest session the person started.
type ExpectSession struct {
	check
	Person      string
	ClosesAfter *time.Duration
	ClosesAt    *time.Time
	IdleAfter   *time.Duration
	// Valid and ClosedBecause check what the latest use of the session was told.
	Valid         *bool
	ClosedBecause string
}

type ExpectOpenSessions struct {
	check
	Person string
	Count  int
}

// ExpectAudit checks the latest suspicious-activity record on the person's timeline (R3.3).
type ExpectAudit struct {
	check
	Person    string
	Rule      string
	Addresses []string // nil: not checked
	Devices   []string
	Action    string
	Notified  string
}
