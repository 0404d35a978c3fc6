package domain

// Commands on the account aggregate. Anything that needs a secret or a hash (verifying a
// password or a TOTP code, the common-password list) arrives as a function supplied by the
// command side, so the decision stays pure and the domain never holds a clear secret.

// Authority carries what an administrative command needs to check the actor's permission:
// the states of the target's properties (R5.1, R6.4) and, when the actor is an account,
// that account's own standing. Support and system actors need neither.
type Authority struct {
	Properties []Property
	Actor      ActorStanding
}

// NewLink is a link about to be e-mailed: the hash of its token, which the log keeps to
// check it, and the nonce from which only the holder of the link key can derive the token
// again (the outbox does, to write the mail). Neither reveals the token.
type NewLink struct {
	TokenHash string
	Nonce     string
}

type RegisterAccount struct {
	AccountID    string
	Email        string
	PropertyID   string
	Password     PasswordCandidate
	PasswordHash string
	Activation   NewLink
}

type RestoreAccount struct {
	Actor      Actor
	PropertyID string
	Authority  Authority
}

type IssueActivationLink struct {
	Link NewLink
}

type Activate struct {
	TokenHash string
}

type LinkToProperty struct {
	PropertyID string
}

type UnlinkFromProperty struct {
	PropertyID string
	Actor      Actor
}

// Login is one sign-in attempt: the password check, the failure count and the lock are
// decided together on the aggregate, under optimistic concurrency (R1.5).
type Login struct {
	Origin          Origin
	SessionID       string
	PasswordMatches func(hash string) bool
	TOTPCode        string
	// VerifyTOTP checks a code against the encrypted secret and returns the time step it
	// belongs to; the domain refuses a step already used.
	VerifyTOTP func(encryptedSecret []byte, code string) (step int64, ok bool)
	Properties []Property
	// UnlockLink is e-mailed if this attempt locks the account (R1.4, seed 004).
	UnlockLink NewLink
}

type RequestPasswordReset struct {
	Link NewLink
}

type ResetPassword struct {
	TokenHash    string
	Password     PasswordCandidate
	PasswordHash string
}

// ChangePassword is a change by the account holder, who proves the current password.
type ChangePassword struct {
	Origin         Origin
	UnlockLink     NewLink // e-mailed if a wrong current password locks the account
	CurrentMatches func(hash string) bool
	Password       PasswordCandidate
	PasswordHash   string
}

type RequestUnlockLink struct {
	Link NewLink
}

type UnlockWithLink struct {
	TokenHash string
}

type UnlockByAdministrator struct {
	Actor     Actor
	Authority Authority
}

type StartMFAEnrolment struct {
	EncryptedSecret []byte
}

type ConfirmMFAEnrolment struct {
	Code       string
	VerifyTOTP func(encryptedSecret []byte, code string) (step int64, ok bool)
}

type DeferMFAEnrolment struct{}

// ResetMFA is a reset by the holder (Code proves the current factor) or by a colleague
// with user management or support (Actor, Authority).
type ResetMFA struct {
	Actor      Actor
	Authority  Authority
	Code       string
	VerifyTOTP func(encryptedSecret []byte, code string) (step int64, ok bool)
	Origin     Origin
}

type RecordSuspiciousActivity struct {
	Rule     string
	Evidence Evidence
	// Disable: the rule's action is to disable the account (R3.1); otherwise recorded for review.
	Disable bool
	// Properties are the account's properties, whose primary contacts are notified.
	Properties []Property
}

type DisableAccount struct {
	Kind       DisableKind // manual or suspicious_activity
	PropertyID string
	Actor      Actor
	Authority  Authority
}

type EnableAccount struct {
	Kind       DisableKind // which disable to lift; "" lifts manual and suspicious_activity and inactivity
	PropertyID string
	Actor      Actor
	Authority  Authority
}

// DisableIfInactive is the inactivity sweep's command (PCI 8.2.6); it does nothing for an
// account that is active enough.
type DisableIfInactive struct{}

// TouchSession checks a session and records its use (R7.1).
type TouchSession struct {
	SessionID  string
	Properties []Property
}

type EndSession struct {
	SessionID string
	Cause     SessionEnd
}

type DeleteAccount struct {
	Actor     Actor
	Authority Authority
}
