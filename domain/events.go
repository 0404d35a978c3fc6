package domain

import (
	"time"
)

// Event is one fact in the log: when it happened and what happened. The time comes from the
// command (an injected clock), never from the machine that replays it, so replay is
// deterministic.
type Event struct {
	At   time.Time
	Data Payload
}

// Payload is the body of an event. Each payload type has one stable, versioned name.
type Payload interface {
	EventType() string
}

// UnlockCause says what unlocked an account (R1.4).
type UnlockCause string

// Causes of an unlock (R1.4).
const (
	UnlockByLink    UnlockCause = "unlock_link"
	UnlockByReset   UnlockCause = "password_reset"
	UnlockByAdmin   UnlockCause = "administrator"
	UnlockByTimeout UnlockCause = "timed_policy"
	UnlockBySupport UnlockCause = "support"
	UnlockByRestore UnlockCause = "account_restored"
)

// PasswordCause says why a password was set or changed (PCI 8.3.9 evidence tells them apart).
type PasswordCause string

// Causes of a password change.
const (
	PasswordSetAtRegistration PasswordCause = "registration"
	PasswordChangedByReset    PasswordCause = "reset_link"
	PasswordChangedBySelf     PasswordCause = "self_service"
	PasswordChangedOnExpiry   PasswordCause = "forced_after_expiry"
	PasswordChangedByAdmin    PasswordCause = "administrator"
)

// DisableKind says why an account is disabled; each kind is lifted on its own (R3.1, R5.1,
// PCI 8.2.6).
type DisableKind string

// Kinds of disable.
const (
	DisableManual             DisableKind = "manual"
	DisableSuspiciousActivity DisableKind = "suspicious_activity"
	DisableInactivity         DisableKind = "inactivity"
)

// LinkRefusal says why an e-mailed link was refused (R2.3).
type LinkRefusal string

// Reasons a link was refused.
const (
	LinkExpired    LinkRefusal = "expired"
	LinkSuperseded LinkRefusal = "superseded"
	LinkUsed       LinkRefusal = "used"
	LinkInvalid    LinkRefusal = "invalid"
)

// Kinds of e-mailed link.
const (
	LinkActivation = "activation"
	LinkReset      = "reset"
	LinkUnlock     = "unlock"
)

// Property subscription states (R4.3).
const (
	SubscriptionPending   = "pending"
	SubscriptionActive    = "active"
	SubscriptionSuspended = "suspended"
	SubscriptionCancelled = "cancelled"
)

// Origin says where a login attempt came from (PCI 10.2.2 "origin").
type Origin struct {
	IP        string `json:"ip,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`
	DeviceID  string `json:"device_id,omitempty"`
}

// Actor names who caused an administrative event.
type Actor struct {
	Kind      ActorKind `json:"kind"`
	AccountID string    `json:"account_id,omitempty"`
	// Reference is the written request a support override acts on (R5.1).
	Reference string `json:"reference,omitempty"`
	Note      string `json:"note,omitempty"`
}

// ActorKind says who an actor is: a colleague's account, a support agent or the system.
type ActorKind string

// Actor kinds.
const (
	ActorAccount ActorKind = "account"
	ActorSupport ActorKind = "support"
	ActorSystem  ActorKind = "system"
)

// PolicyInForce is the part of the policy a password change is judged by, recorded with it
// so evidence states which thresholds applied (PCI 8.3.6, 8.3.7, 8.3.9).
type PolicyInForce struct {
	MinLength    int      `json:"min_length"`
	HistoryDepth int      `json:"history_depth"`
	MaxAge       Duration `json:"max_age"`
}

// --- account stream -----------------------------------------------------------------

type AccountRegistered struct {
	AccountID    string        `json:"account_id"`
	Email        string        `json:"email"`
	PropertyID   string        `json:"property_id,omitempty"`
	PasswordHash string        `json:"password_hash"`
	Policy       PolicyInForce `json:"policy"`
}

type ActivationLinkIssued struct {
	TokenHash string    `json:"token_hash"`
	Nonce     string    `json:"nonce"`
	ExpiresAt time.Time `json:"expires_at"`
}

type AccountActivated struct {
	TokenHash string `json:"token_hash"`
}

type ActivationLinkRejected struct {
	TokenHash string      `json:"token_hash"`
	Reason    LinkRefusal `json:"reason"`
}

type LinkedToProperty struct {
	PropertyID string `json:"property_id"`
}

type UnlinkedFromProperty struct {
	PropertyID string `json:"property_id"`
	Actor      Actor  `json:"actor"`
}

type LoginSucceeded struct {
	Origin    Origin `json:"origin"`
	SessionID string `json:"session_id"`
	// MFAStep is the TOTP time step the code used, so it can never be replayed (PCI 8.5.1).
	MFAStep int64 `json:"mfa_step,omitempty"`
}

// LoginFailed is a wrong password or MFA code. FailedAttempts is the consecutive count
// after this failure, of the kind of factor that failed.
type LoginFailed struct {
	Origin         Origin `json:"origin"`
	Reason         string `json:"reason"`
	FailedAttempts int    `json:"failed_attempts"`
}

// LoginRejected is a login refused because of the account's state, whatever the credentials.
// CredentialsVerified tells whether the password was right (it resets the failure count).
type LoginRejected struct {
	Origin              Origin   `json:"origin"`
	Reasons             []string `json:"reasons"`
	CredentialsVerified bool     `json:"credentials_verified"`
}

type AccountLocked struct {
	FailedAttempts int `json:"failed_attempts"`
	Threshold      int `json:"threshold"`
}

type AccountUnlocked struct {
	Cause UnlockCause `json:"cause"`
	Actor *Actor      `json:"actor,omitempty"`
}

type UnlockLinkIssued struct {
	TokenHash string    `json:"token_hash"`
	Nonce     string    `json:"nonce"`
	ExpiresAt time.Time `json:"expires_at"`
}

type UnlockLinkRejected struct {
	TokenHash string      `json:"token_hash"`
	Reason    LinkRefusal `json:"reason"`
}

type PasswordResetRequested struct {
	TokenHash string    `json:"token_hash"`
	Nonce     string    `json:"nonce"`
	ExpiresAt time.Time `json:"expires_at"`
}

type ResetLinkRejected struct {
	TokenHash string      `json:"token_hash"`
	Reason    LinkRefusal `json:"reason"`
}

type PasswordChanged struct {
	Cause        PasswordCause `json:"cause"`
	PasswordHash string        `json:"password_hash"`
	TokenHash    string        `json:"token_hash,omitempty"`
	Actor        *Actor        `json:"actor,omitempty"`
	Policy       PolicyInForce `json:"policy"`
}

// PasswordChangeRequired marks that the next login must change the password (R3.1: a
// re-enable after suspicious activity).
type PasswordChangeRequired struct {
	Reason string `json:"reason"`
}

type MFAEnrolmentStarted struct {
	EncryptedSecret []byte `json:"encrypted_secret"`
}

type MFAEnrolmentConfirmed struct {
	Step int64 `json:"step"`
}

type MFAEnrolmentDeferred struct {
	Until time.Time `json:"until"`
}

type MFACodeRejected struct {
	Origin         Origin `json:"origin"`
	FailedAttempts int    `json:"failed_attempts"`
	Replayed       bool   `json:"replayed,omitempty"`
}

type MFACooldownStarted struct {
	Until          time.Time `json:"until"`
	FailedAttempts int       `json:"failed_attempts"`
}

type MFAReset struct {
	Actor Actor `json:"actor"`
}

type SuspiciousActivityDetected struct {
	Rule     string   `json:"rule"`
	Evidence Evidence `json:"evidence"`
	Action   string   `json:"action"`
	// Notified lists the primary contacts told of a disable (R3.1, R3.3); the outbox mails them.
	Notified []string `json:"notified,omitempty"`
}

// Evidence is what a detector saw (R3.3).
type Evidence struct {
	Addresses   []string  `json:"addresses,omitempty"`
	Devices     []string  `json:"devices,omitempty"`
	EventIDs    []string  `json:"event_ids,omitempty"`
	WindowStart time.Time `json:"window_start,omitzero"`
	WindowEnd   time.Time `json:"window_end,omitzero"`
	Detail      string    `json:"detail,omitempty"`
}

type AccountDisabled struct {
	Kind       DisableKind `json:"kind"`
	PropertyID string      `json:"property_id,omitempty"`
	Actor      Actor       `json:"actor"`
}

type AccountEnabled struct {
	Kind       DisableKind `json:"kind"`
	PropertyID string      `json:"property_id,omitempty"`
	Actor      Actor       `json:"actor"`
}

type SessionStarted struct {
	SessionID string    `json:"session_id"`
	ExpiresAt time.Time `json:"expires_at"`
	IdleAfter Duration  `json:"idle_after"`
}

// SessionActive records that a session was used; recorded at most once per
// SessionActivityResolution, which is all the idle rule needs.
type SessionActive struct {
	SessionID string `json:"session_id"`
}

type SessionEnded struct {
	SessionID string     `json:"session_id"`
	Cause     SessionEnd `json:"cause"`
}

type AccountDeleted struct {
	Actor Actor `json:"actor"`
}

type AccountRestored struct {
	Actor Actor `json:"actor"`
}

// --- e-mail reservation stream --------------------------------------------------------

// EmailReserved claims a normalised e-mail for one account; appended with NoStream so that
// of two concurrent registrations exactly one wins.
type EmailReserved struct {
	Email     string `json:"email"`
	AccountID string `json:"account_id"`
}

// EmailSkeletonClaimed records a canonical address on the stream of its confusable
// skeleton (UTS #39), so a later look-alike of it is refused.
type EmailSkeletonClaimed struct {
	Email     string `json:"email"`
	AccountID string `json:"account_id"`
}

// EmailSkeletonsIndexed records that every address reserved up to position Through (before
// skeletons were claimed at registration) has its skeleton claim.
type EmailSkeletonsIndexed struct {
	Through uint64 `json:"through"`
	Claimed int    `json:"claimed"`
}

// --- unknown e-mail streams ----------------------------------------------------------

// UnknownEmailLoginFailed is a sign-in attempt on an address with no account, kept under a
// keyed hash of the address (never the address) so detectors can count it (credential
// stuffing) and so the attempt costs the same write as a wrong password.
type UnknownEmailLoginFailed struct {
	EmailHash      string `json:"email_hash"`
	Origin         Origin `json:"origin"`
	FailedAttempts int    `json:"failed_attempts"`
}

// LinkRequestDeclined is a request for an e-mailed link that issued none, kept under the
// keyed hash of the address like a sign-in on an unknown one: the address has no account
// (Reason no_account), or its account refused the link (the refusal's code, e.g.
// not_locked). It makes such a request cost the same write as one that issues a link.
type LinkRequestDeclined struct {
	EmailHash string `json:"email_hash"`
	Link      string `json:"link"`
	Reason    string `json:"reason"`
}

// LinkDeclinedNoAccount is the reason of a link request for an address without an account.
const LinkDeclinedNoAccount = "no_account"

// --- mail streams ---------------------------------------------------------------------

// MailSent records that the outbox handed one message to its mailer, on the message's own
// stream (MailStream), appended only if that stream is empty: a message is recorded once,
// whichever node or replay records it. It names the message and the event that caused it (CauseID, CausePosition),
// never an address, a subject or a link. Migrated marks a record written at the upgrade
// from the outbox's former outbox_sent table, which kept neither the kind, the account nor
// the cause's position (CauseID is the message ID's event part).
type MailSent struct {
	MessageID     string `json:"message_id"`
	Kind          string `json:"kind"`
	AccountID     string `json:"account_id"`
	CauseID       string `json:"event_id"`
	CausePosition uint64 `json:"event_position"`
	Attempts      int    `json:"attempts"`
	Migrated      bool   `json:"migrated,omitempty"`
}

// MailDeadLettered records that the outbox gave a message up for good, on the message's
// stream like MailSent (a message is either sent or dead-lettered, never both). Reason is
// a stable code (MailRejected...); Detail is the mailer's last error with every e-mail
// address in it replaced, cut to MailDetailMax bytes.
type MailDeadLettered struct {
	MessageID     string `json:"message_id"`
	Kind          string `json:"kind"`
	AccountID     string `json:"account_id"`
	CauseID       string `json:"event_id"`
	CausePosition uint64 `json:"event_position"`
	CauseType     string `json:"event_type"`
	Attempts      int    `json:"attempts"`
	Reason        string `json:"reason"`
	Detail        string `json:"detail"`
	Migrated      bool   `json:"migrated,omitempty"`
}

// Reasons a message is dead-lettered.
const (
	MailRejected          = "rejected"           // the mailer failed permanently (an SMTP 5xx reply)
	MailAttemptsExhausted = "attempts_exhausted" // MaxAttempts sends failed
	MailUndeliverable     = "undeliverable"      // no message can be written (no address on record, no nonce)
	MailUndecodable       = "undecodable"        // the causing event cannot be read
)

// MailDetailMax bounds MailDeadLettered.Detail.
const MailDetailMax = 300

// MailStream names the stream that records what became of one outbox message.
func MailStream(messageID string) string { return "mail-" + messageID }

// --- property stream ------------------------------------------------------------------

type PropertyCreated struct {
	PropertyID          string `json:"property_id"`
	Name                string `json:"name"`
	PrimaryContactEmail string `json:"primary_contact_email"`
	Subscription        string `json:"subscription"`
}

type MemberAdded struct {
	AccountID string `json:"account_id"`
	Actor     Actor  `json:"actor"`
}

type MemberRemoved struct {
	AccountID string `json:"account_id"`
	Actor     Actor  `json:"actor"`
}

type UserManagementGranted struct {
	AccountID string `json:"account_id"`
	Actor     Actor  `json:"actor"`
}

type UserManagementRevoked struct {
	AccountID string `json:"account_id"`
	Actor     Actor  `json:"actor"`
}

type BillingContactAdded struct {
	Email string `json:"email"`
}

type InvoiceOverdue struct {
	InvoiceID string `json:"invoice_id"`
}

type InvoicePaid struct {
	InvoiceID string `json:"invoice_id"`
}

type PropertyAccessSuspended struct {
	OverdueInvoices []string `json:"overdue_invoices"`
}

// PropertyAccessRestored takes effect at EffectiveAt: payment plus the configured delay (R4.2).
type PropertyAccessRestored struct {
	EffectiveAt time.Time `json:"effective_at"`
}

type SubscriptionStatusChanged struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Actor Actor  `json:"actor"`
}

// --- policy stream --------------------------------------------------------------------

type PolicyChanged struct {
	Policy Policy `json:"policy"`
	Actor  Actor  `json:"actor"`
}

func (AccountRegistered) EventType() string          { return "account_registered.v1" }
func (ActivationLinkIssued) EventType() string       { return "activation_link_issued.v1" }
func (AccountActivated) EventType() string           { return "account_activated.v1" }
func (ActivationLinkRejected) EventType() string     { return "activation_link_rejected.v1" }
func (LinkedToProperty) EventType() string           { return "linked_to_property.v1" }
func (UnlinkedFromProperty) EventType() string       { return "unlinked_from_property.v1" }
func (LoginSucceeded) EventType() string             { return "login_succeeded.v1" }
func (LoginFailed) EventType() string                { return "login_failed.v1" }
func (LoginRejected) EventType() string              { return "login_rejected.v1" }
func (AccountLocked) EventType() string              { return "account_locked.v1" }
func (AccountUnlocked) EventType() string            { return "account_unlocked.v1" }
func (UnlockLinkIssued) EventType() string           { return "unlock_link_issued.v1" }
func (UnlockLinkRejected) EventType() string         { return "unlock_link_rejected.v1" }
func (PasswordResetRequested) EventType() string     { return "password_reset_requested.v1" }
func (ResetLinkRejected) EventType() string          { return "reset_link_rejected.v1" }
func (PasswordChanged) EventType() string            { return "password_changed.v1" }
func (PasswordChangeRequired) EventType() string     { return "password_change_required.v1" }
func (MFAEnrolmentStarted) EventType() string        { return "mfa_enrolment_started.v1" }
func (MFAEnrolmentConfirmed) EventType() string      { return "mfa_enrolment_confirmed.v1" }
func (MFAEnrolmentDeferred) EventType() string       { return "mfa_enrolment_deferred.v1" }
func (MFACodeRejected) EventType() string            { return "mfa_code_rejected.v1" }
func (MFACooldownStarted) EventType() string         { return "mfa_cooldown_started.v1" }
func (MFAReset) EventType() string                   { return "mfa_reset.v1" }
func (SuspiciousActivityDetected) EventType() string { return "suspicious_activity_detected.v1" }
func (AccountDisabled) EventType() string            { return "account_disabled.v1" }
func (AccountEnabled) EventType() string             { return "account_enabled.v1" }
func (SessionStarted) EventType() string             { return "session_started.v1" }
func (SessionActive) EventType() string              { return "session_active.v1" }
func (SessionEnded) EventType() string               { return "session_ended.v1" }
func (AccountDeleted) EventType() string             { return "account_deleted.v1" }
func (AccountRestored) EventType() string            { return "account_restored.v1" }
func (UnknownEmailLoginFailed) EventType() string    { return "unknown_email_login_failed.v1" }
func (LinkRequestDeclined) EventType() string        { return "link_request_declined.v1" }
func (EmailReserved) EventType() string              { return "email_reserved.v1" }
func (EmailSkeletonClaimed) EventType() string       { return "email_skeleton_claimed.v1" }
func (EmailSkeletonsIndexed) EventType() string      { return "email_skeletons_indexed.v1" }
func (MailSent) EventType() string                   { return "mail_sent.v1" }
func (MailDeadLettered) EventType() string           { return "mail_dead_lettered.v1" }
func (PropertyCreated) EventType() string            { return "property_created.v1" }
func (MemberAdded) EventType() string                { return "member_added.v1" }
func (MemberRemoved) EventType() string              { return "member_removed.v1" }
func (UserManagementGranted) EventType() string      { return "user_management_granted.v1" }
func (UserManagementRevoked) EventType() string      { return "user_management_revoked.v1" }
func (BillingContactAdded) EventType() string        { return "billing_contact_added.v1" }
func (InvoiceOverdue) EventType() string             { return "invoice_overdue.v1" }
func (InvoicePaid) EventType() string                { return "invoice_paid.v1" }
func (PropertyAccessSuspended) EventType() string    { return "property_access_suspended.v1" }
func (PropertyAccessRestored) EventType() string     { return "property_access_restored.v1" }
func (SubscriptionStatusChanged) EventType() string  { return "subscription_status_changed.v1" }
func (PolicyChanged) EventType() string              { return "policy_changed.v1" }
