package domain

import (
	"slices"
	"strings"
	"time"
)

// DecideAccount turns a command into the events it causes. A refusal is an *Error; when the
// refusal itself must be on record (a rejected link, PCI 10.2.1.4) the events come back
// with the error and the command side appends them before returning it.
func DecideAccount(s Account, cmd AccountCommand, now time.Time, p Policy) ([]Event, error) {
	d := decider{s: s, now: now, p: p}
	if _, registering := cmd.(RegisterAccount); !registering && !s.Registered {
		return nil, refuse(CodeAccountNotFound, "account does not exist")
	}
	if events, err, done := refuseErased(s, cmd); done {
		return events, err
	}
	switch c := cmd.(type) {
	case RegisterAccount:
		return d.register(c)
	case RestoreAccount:
		return d.restore(c)
	case IssueActivationLink:
		return d.issueActivationLink(c)
	case Activate:
		return d.activate(c)
	case LinkToProperty:
		if s.IsMember(c.PropertyID) {
			return nil, nil
		}
		return d.emit(LinkedToProperty{PropertyID: c.PropertyID}), nil
	case UnlinkFromProperty:
		if !s.IsMember(c.PropertyID) {
			return nil, refuse(CodeNotAMember, "account is not a member of property %s", c.PropertyID)
		}
		return d.emit(UnlinkedFromProperty{PropertyID: c.PropertyID, Actor: c.Actor}), nil
	case Login:
		return d.login(c)
	case RequestPasswordReset:
		if s.Deleted {
			return nil, refuse(CodeAccountDeleted, "account is deleted")
		}
		return d.emit(PasswordResetRequested{TokenHash: c.Link.TokenHash, Nonce: c.Link.Nonce, ExpiresAt: now.Add(p.ResetLinkTTL.Std())}), nil
	case ResetPassword:
		return d.resetPassword(c)
	case ChangePassword:
		return d.changePassword(c)
	case RequestUnlockLink:
		if !s.IsLockedAt(now, p) {
			return nil, refuse(CodeNotLocked, "account is not locked")
		}
		return d.emit(UnlockLinkIssued{TokenHash: c.Link.TokenHash, Nonce: c.Link.Nonce, ExpiresAt: now.Add(p.UnlockLinkTTL.Std())}), nil
	case UnlockWithLink:
		return d.unlockWithLink(c)
	case UnlockByAdministrator:
		if err := d.authorise(c.Actor, c.Authority); err != nil {
			return nil, err
		}
		if !s.IsLockedAt(now, p) {
			return nil, refuse(CodeNotLocked, "account is not locked")
		}
		cause := UnlockByAdmin
		if c.Actor.Kind == ActorSupport {
			cause = UnlockBySupport
		}
		actor := c.Actor
		return d.emit(AccountUnlocked{Cause: cause, Actor: &actor}), nil
	case StartMFAEnrolment:
		if s.MFA.Enrolled {
			return nil, refuse(CodeMFAAlreadyEnrolled, "MFA is already enrolled; reset it first")
		}
		if len(c.EncryptedSecret) == 0 {
			return nil, refuse(CodeInvalidCommand, "enrolment needs a secret")
		}
		return d.emit(MFAEnrolmentStarted{EncryptedSecret: c.EncryptedSecret}), nil
	case ConfirmMFAEnrolment:
		return d.confirmMFA(c)
	case DeferMFAEnrolment:
		return d.deferMFA()
	case ResetMFA:
		return d.resetMFA(c)
	case RecordSuspiciousActivity:
		return d.suspicious(c)
	case DisableAccount:
		return d.disable(c)
	case EnableAccount:
		return d.enable(c)
	case DisableIfInactive:
		return d.disableIfInactive()
	case TouchSession:
		v := SessionValidity(s, c.Properties, c.SessionID, now, p)
		if !v.Valid {
			if v.Reason == SessionUnknown {
				return nil, refuse(CodeSessionNotFound, "no open session %s", c.SessionID)
			}
			// Close it on record, once, with the rule that closed it.
			return d.emit(SessionEnded{SessionID: c.SessionID, Cause: v.Reason}), nil
		}
		if now.Sub(s.Sessions[c.SessionID].LastSeenAt) < SessionActivityResolution {
			return nil, nil
		}
		return d.emit(SessionActive{SessionID: c.SessionID}), nil
	case EndSession:
		if _, open := s.Sessions[c.SessionID]; !open {
			return nil, refuse(CodeSessionNotFound, "no open session %s", c.SessionID)
		}
		return d.emit(SessionEnded{SessionID: c.SessionID, Cause: c.Cause}), nil
	case DeleteAccount:
		if err := d.authorise(c.Actor, c.Authority); err != nil {
			return nil, err
		}
		if s.Deleted {
			return nil, nil
		}
		return d.emit(AccountDeleted{Actor: c.Actor}), nil
	case EraseAccount:
		return d.erase(c)
	}
	return nil, refuse(CodeInvalidCommand, "account cannot handle %T", cmd)
}

type decider struct {
	s   Account
	now time.Time
	p   Policy
	out []Event
}

// emit records events and folds them into the decider's state, so later steps of one
// decision see the effect of earlier ones.
func (d *decider) emit(ps ...Payload) []Event {
	for _, pl := range ps {
		e := Event{At: d.now, Data: pl}
		d.out = append(d.out, e)
		d.s = EvolveAccount(d.s, e)
	}
	return d.out
}

func (d *decider) policyInForce() PolicyInForce {
	return PolicyInForce{MinLength: d.p.PasswordMinLength, HistoryDepth: d.p.PasswordHistoryDepth, MaxAge: d.p.PasswordMaxAge}
}

func (d *decider) register(c RegisterAccount) ([]Event, error) {
	if d.s.Registered {
		return nil, refuse(CodeAccountExists, "account %s already exists", d.s.ID)
	}
	if !ValidEmail(c.Email) {
		return nil, refuse(CodeInvalidEmail, "%q is not a valid e-mail address", c.Email)
	}
	if c.AccountID == "" || c.PasswordHash == "" || c.Activation.TokenHash == "" {
		return nil, refuse(CodeInvalidCommand, "registration needs an account ID, a password hash and an activation token")
	}
	cand := c.Password
	cand.Email = c.Email
	if v := CheckPassword(cand, nil, d.p); len(v) > 0 {
		return nil, &Error{Code: CodePasswordRejected, Message: "the password breaks the password policy", Violations: v}
	}
	return d.emit(
		AccountRegistered{AccountID: c.AccountID, Email: NormaliseEmail(c.Email), PropertyID: c.PropertyID, PasswordHash: c.PasswordHash, Policy: d.policyInForce()},
		ActivationLinkIssued{TokenHash: c.Activation.TokenHash, Nonce: c.Activation.Nonce, ExpiresAt: d.now.Add(d.p.ActivationLinkTTL.Std())},
	), nil
}

func (d *decider) restore(c RestoreAccount) ([]Event, error) {
	if !d.s.Deleted {
		return nil, refuse(CodeEmailNotAvailable, "e-mail not available: it belongs to an existing account")
	}
	if err := d.authorise(c.Actor, c.Authority); err != nil && c.Actor.Kind != ActorSystem {
		// A colleague re-creating the user on their own property may restore it (R5.2).
		if ErrorCode(err) == CodeActorInactive || c.PropertyID == "" || !hasUserManagementOn(c.Actor, c.Authority, c.PropertyID) {
			return nil, err
		}
		if err := CheckStanding(c.Actor, c.Authority.Actor, c.PropertyID, d.now, d.p); err != nil {
			return nil, err
		}
	}
	d.emit(AccountRestored{Actor: c.Actor})
	if c.PropertyID != "" && !d.s.IsMember(c.PropertyID) {
		d.emit(LinkedToProperty{PropertyID: c.PropertyID})
	}
	return d.out, nil
}

func (d *decider) issueActivationLink(c IssueActivationLink) ([]Event, error) {
	if d.s.Activated {
		return nil, refuse(CodeAlreadyActivated, "account is already activated")
	}
	return d.emit(ActivationLinkIssued{TokenHash: c.Link.TokenHash, Nonce: c.Link.Nonce, ExpiresAt: d.now.Add(d.p.ActivationLinkTTL.Std())}), nil
}

func (d *decider) activate(c Activate) ([]Event, error) {
	if d.s.Activated {
		return nil, refuse(CodeAlreadyActivated, "account is already activated")
	}
	if why := d.checkLink(LinkActivation, c.TokenHash); why != "" {
		return d.emit(ActivationLinkRejected{TokenHash: c.TokenHash, Reason: why}), linkError(why)
	}
	return d.emit(AccountActivated{TokenHash: c.TokenHash}), nil
}

// checkLink says why a link may not be used, or "" when it may (R2.3).
func (d *decider) checkLink(kind, hash string) LinkRefusal {
	l := d.s.Links[kind]
	switch {
	case hash == "" || l == nil:
		return LinkInvalid
	case hash == l.Current && l.Used:
		return LinkUsed
	case hash == l.Current && !d.now.Before(l.ExpiresAt):
		return LinkExpired
	case hash == l.Current:
		return ""
	case l.Older[hash] != "":
		return l.Older[hash]
	}
	return LinkInvalid
}

func linkError(why LinkRefusal) error {
	switch why {
	case LinkExpired:
		return refuse(CodeLinkExpired, "unable to process your request: the link has expired")
	case LinkSuperseded:
		return refuse(CodeLinkSuperseded, "unable to process your request: a newer link was sent")
	case LinkUsed:
		return refuse(CodeLinkUsed, "unable to process your request: the link was already used")
	}
	return refuse(CodeLinkInvalid, "unable to process your request: the link is not valid")
}

func (d *decider) login(c Login) ([]Event, error) {
	if c.PasswordMatches == nil {
		return nil, refuse(CodeInvalidCommand, "login needs a password check")
	}
	// Every sign-in pays one password verification, whatever the account's state: a deleted
	// or locked account that skipped it would answer measurably faster than an address with
	// no account, which always pays (R8.2), and tell the two apart.
	matches := c.PasswordMatches(d.s.PasswordHash)
	if d.s.Deleted {
		return d.emit(LoginRejected{Origin: c.Origin, Reasons: []string{ReasonAccountDeleted}}), nil
	}
	if d.s.Locked && !d.s.IsLockedAt(d.now, d.p) {
		d.emit(AccountUnlocked{Cause: UnlockByTimeout})
	}
	if d.s.Locked {
		return d.emit(LoginRejected{Origin: c.Origin, Reasons: []string{ReasonAccountLocked}}), nil
	}
	if !matches {
		d.countPasswordFailure(c.Origin, c.UnlockLink)
		return d.out, nil
	}

	// The password is right: from here on, state decides.
	status := EvaluateStatus(d.s, c.Properties, d.now, d.p)
	if blocking := blockingReasons(status.Reasons); len(blocking) > 0 {
		return d.emit(LoginRejected{Origin: c.Origin, Reasons: blocking, CredentialsVerified: true}), nil
	}
	var step int64
	switch {
	case d.s.MFA.Enrolled:
		if d.now.Before(d.s.MFA.CooldownUntil) {
			return d.emit(LoginRejected{Origin: c.Origin, Reasons: []string{ReasonMFACooldown}, CredentialsVerified: true}), nil
		}
		if strings.TrimSpace(c.TOTPCode) == "" {
			return d.emit(LoginRejected{Origin: c.Origin, Reasons: []string{ReasonMFARequired}, CredentialsVerified: true}), nil
		}
		var ok bool
		step, ok = d.verifyCode(c.VerifyTOTP, c.TOTPCode)
		if !ok {
			d.mfaFailure(c.Origin, step)
			return d.out, nil
		}
	case d.p.MFARequired:
		due := d.s.MFAEnrolmentDueBy(d.p)
		if due.IsZero() { // first login: the grace starts now
			due = d.now.Add(d.p.MFAEnrolmentGrace.Std())
		}
		if !(d.now.Before(d.s.MFA.DeferredUntil) && d.now.Before(due)) {
			return d.emit(LoginRejected{Origin: c.Origin, Reasons: []string{ReasonMFAEnrollmentRequired}, CredentialsVerified: true}), nil
		}
	}
	if c.SessionID == "" {
		return nil, refuse(CodeInvalidCommand, "login needs a session ID")
	}
	return d.emit(
		LoginSucceeded{Origin: c.Origin, SessionID: c.SessionID, MFAStep: step},
		SessionStarted{SessionID: c.SessionID, ExpiresAt: d.now.Add(d.p.SessionMaxAge.Std()), IdleAfter: d.p.SessionIdleTimeout},
	), nil
}

// countPasswordFailure records a wrong password and locks the account at the threshold,
// e-mailing the unlock link (R1.1, R1.4).
func (d *decider) countPasswordFailure(o Origin, unlock NewLink) {
	n := d.s.FailedAttempts + 1
	d.emit(LoginFailed{Origin: o, Reason: ReasonInvalidCredentials, FailedAttempts: n})
	if n >= d.p.LockoutThreshold {
		d.emit(AccountLocked{FailedAttempts: n, Threshold: d.p.LockoutThreshold})
		if unlock.TokenHash != "" {
			d.emit(UnlockLinkIssued{TokenHash: unlock.TokenHash, Nonce: unlock.Nonce, ExpiresAt: d.now.Add(d.p.UnlockLinkTTL.Std())})
		}
	}
}

// loginBlockers lists, in the order a person should deal with them, the reasons that refuse
// a login whatever the credentials.
var loginBlockers = []string{
	ReasonAccountDeleted, ReasonDisabledSuspiciousActivity, ReasonDisabledManually, ReasonDisabledInactivity,
	ReasonDisabledBilling, ReasonPropertySuspended, ReasonPendingActivation,
	ReasonPasswordExpired, ReasonPasswordChangeRequired,
}

func blockingReasons(rs []Reason) []string {
	var out []string
	for _, code := range loginBlockers {
		for _, r := range rs {
			if r.Code == code {
				out = append(out, code)
				break
			}
		}
	}
	return out
}

// verifyCode returns the code's step and whether it is acceptable: right, and never used
// before (PCI 8.5.1). A replay reports the step with ok=false.
func (d *decider) verifyCode(verify func([]byte, string) (int64, bool), code string) (int64, bool) {
	if verify == nil || len(d.s.MFA.Secret) == 0 {
		return 0, false
	}
	step, ok := verify(d.s.MFA.Secret, strings.TrimSpace(code))
	if !ok {
		return 0, false
	}
	if step <= d.s.MFA.LastUsedStep {
		return step, false
	}
	return step, true
}

func (d *decider) mfaFailure(o Origin, replayedStep int64) {
	n := d.s.MFA.FailedAttempts + 1
	d.emit(MFACodeRejected{Origin: o, FailedAttempts: n, Replayed: replayedStep != 0})
	if n >= d.p.MFAMaxFailures {
		d.emit(MFACooldownStarted{Until: d.now.Add(d.p.MFACooldown.Std()), FailedAttempts: n})
	}
}

func (d *decider) resetPassword(c ResetPassword) ([]Event, error) {
	if why := d.checkLink(LinkReset, c.TokenHash); why != "" {
		return d.emit(ResetLinkRejected{TokenHash: c.TokenHash, Reason: why}), linkError(why)
	}
	if err := d.checkNewPassword(c.Password, c.PasswordHash); err != nil {
		return nil, err
	}
	d.emit(PasswordChanged{Cause: PasswordChangedByReset, PasswordHash: c.PasswordHash, TokenHash: c.TokenHash, Policy: d.policyInForce()})
	if d.s.Locked {
		d.emit(AccountUnlocked{Cause: UnlockByReset})
	}
	return d.out, nil
}

func (d *decider) changePassword(c ChangePassword) ([]Event, error) {
	if d.s.IsLockedAt(d.now, d.p) {
		return nil, refuse(ReasonAccountLocked, "a locked account changes its password through a reset link")
	}
	if c.CurrentMatches == nil || !c.CurrentMatches(d.s.PasswordHash) {
		// A wrong current password is a wrong password like any other: counted, and locking at
		// the threshold, or this form would allow unlimited guessing (R1.1, PCI 10.2.1.4).
		d.countPasswordFailure(c.Origin, c.UnlockLink)
		return d.out, refuse(ReasonInvalidCredentials, "the current password is not right")
	}
	if err := d.checkNewPassword(c.Password, c.PasswordHash); err != nil {
		return nil, err
	}
	cause := PasswordChangedBySelf
	if !d.now.Before(d.s.PasswordExpiresAt(d.p)) {
		cause = PasswordChangedOnExpiry
	}
	return d.emit(PasswordChanged{Cause: cause, PasswordHash: c.PasswordHash, Policy: d.policyInForce()}), nil
}

func (d *decider) checkNewPassword(cand PasswordCandidate, hash string) error {
	if hash == "" {
		return refuse(CodeInvalidCommand, "a password change needs the new hash")
	}
	cand.Email = d.s.Email
	if v := CheckPassword(cand, d.s.PasswordHistory, d.p); len(v) > 0 {
		return &Error{Code: CodePasswordRejected, Message: "the password breaks the password policy", Violations: v}
	}
	return nil
}

func (d *decider) unlockWithLink(c UnlockWithLink) ([]Event, error) {
	if why := d.checkLink(LinkUnlock, c.TokenHash); why != "" {
		return d.emit(UnlockLinkRejected{TokenHash: c.TokenHash, Reason: why}), linkError(why)
	}
	if !d.s.Locked {
		return nil, refuse(CodeNotLocked, "account is not locked")
	}
	return d.emit(AccountUnlocked{Cause: UnlockByLink}), nil
}

func (d *decider) confirmMFA(c ConfirmMFAEnrolment) ([]Event, error) {
	if d.s.MFA.Enrolled {
		return nil, refuse(CodeMFAAlreadyEnrolled, "MFA is already enrolled")
	}
	if len(d.s.MFA.PendingSecret) == 0 || c.VerifyTOTP == nil {
		return nil, refuse(CodeMFANoPendingSecret, "start an enrolment first")
	}
	step, ok := c.VerifyTOTP(d.s.MFA.PendingSecret, strings.TrimSpace(c.Code))
	if !ok || step <= d.s.MFA.LastUsedStep {
		return nil, refuse(CodeMFAInvalidCode, "the code does not match the new secret")
	}
	return d.emit(MFAEnrolmentConfirmed{Step: step}), nil
}

func (d *decider) deferMFA() ([]Event, error) {
	if d.s.MFA.Enrolled {
		return nil, refuse(CodeMFAAlreadyEnrolled, "MFA is already enrolled")
	}
	due := d.s.MFAEnrolmentDueBy(d.p)
	if due.IsZero() && d.p.MFARequired {
		due = d.now.Add(d.p.MFAEnrolmentGrace.Std())
	}
	if d.s.MFA.ResetPending || !d.now.Before(due) {
		return nil, refuse(CodeDeferralNotAllowed, "MFA enrolment can no longer be deferred: it was due by %s", due.UTC().Format(time.RFC3339))
	}
	return d.emit(MFAEnrolmentDeferred{Until: due}), nil
}

func (d *decider) resetMFA(c ResetMFA) ([]Event, error) {
	if c.Actor.Kind == ActorAccount && c.Actor.AccountID == d.s.ID {
		if !d.s.MFA.Enrolled {
			return nil, refuse(CodeMFANotEnrolled, "MFA is not enrolled")
		}
		if d.now.Before(d.s.MFA.CooldownUntil) {
			return nil, refuse(CodeMFACooldown, "authentication failed, maximum attempts exceeded: wait until %s", d.s.MFA.CooldownUntil.UTC().Format(time.RFC3339))
		}
		step, ok := d.verifyCode(c.VerifyTOTP, c.Code)
		if !ok {
			// Counted like a wrong code at login, or this would be a way round the cooldown (R6.2).
			d.mfaFailure(c.Origin, step)
			return d.out, refuse(CodeMFAInvalidCode, "a self-service reset needs a valid current code")
		}
	} else if err := d.authorise(c.Actor, c.Authority); err != nil {
		return nil, err
	}
	return d.emit(MFAReset{Actor: c.Actor}), nil
}

func (d *decider) suspicious(c RecordSuspiciousActivity) ([]Event, error) {
	if strings.TrimSpace(c.Rule) == "" {
		return nil, refuse(CodeInvalidCommand, "a detection names its rule")
	}
	action := "recorded_for_review"
	if c.Disable {
		action = "account_disabled"
	}
	var notified []string
	if c.Disable {
		for _, pr := range c.Properties {
			if d.s.IsMember(pr.ID) && pr.PrimaryContactEmail != "" && !slices.Contains(notified, pr.PrimaryContactEmail) {
				notified = append(notified, pr.PrimaryContactEmail)
			}
		}
		slices.Sort(notified)
	}
	d.emit(SuspiciousActivityDetected{Rule: c.Rule, Evidence: c.Evidence, Action: action, Notified: notified})
	if c.Disable {
		d.endSessions("suspicious_activity")
		if _, already := d.s.Disabled[DisableSuspiciousActivity]; !already {
			d.emit(AccountDisabled{Kind: DisableSuspiciousActivity, Actor: Actor{Kind: ActorSystem, Note: c.Rule}})
		}
	}
	return d.out, nil
}

func (d *decider) endSessions(cause SessionEnd) {
	for _, id := range sortedKeys(d.s.Sessions) {
		d.emit(SessionEnded{SessionID: id, Cause: cause})
	}
}

func (d *decider) disable(c DisableAccount) ([]Event, error) {
	if c.Kind != DisableManual && c.Kind != DisableSuspiciousActivity {
		return nil, refuse(CodeInvalidCommand, "disable kind %q is not manual or suspicious_activity", c.Kind)
	}
	if err := d.authorise(c.Actor, c.Authority); err != nil {
		return nil, err
	}
	if _, already := d.s.Disabled[c.Kind]; already {
		return nil, refuse(CodeAlreadyDisabled, "account is already disabled (%s)", c.Kind)
	}
	d.endSessions("account_disabled")
	return d.emit(AccountDisabled{Kind: c.Kind, PropertyID: c.PropertyID, Actor: c.Actor}), nil
}

func (d *decider) enable(c EnableAccount) ([]Event, error) {
	if err := d.authorise(c.Actor, c.Authority); err != nil {
		return nil, err
	}
	kinds := []DisableKind{c.Kind}
	if c.Kind == "" {
		kinds = sortedKeys(d.s.Disabled)
	}
	lifted := false
	for _, k := range kinds {
		if rec, ok := d.s.Disabled[k]; ok {
			// A property's disable is lifted by that property's user managers, not by a
			// colleague from another property the person also works for (R5.1).
			if rec.PropertyID != "" && c.Actor.Kind == ActorAccount && !hasUserManagementOn(c.Actor, c.Authority, rec.PropertyID) {
				return nil, refuse(CodeNotAuthorised, "not authorised: the account was disabled by property %s", rec.PropertyID)
			}
			d.emit(AccountEnabled{Kind: k, PropertyID: c.PropertyID, Actor: c.Actor})
			lifted = true
			if k == DisableSuspiciousActivity {
				// R3.1: whoever used the account may know the password.
				d.emit(PasswordChangeRequired{Reason: "re-enabled after suspicious activity"})
			}
		}
	}
	if !lifted {
		return nil, refuse(CodeNotDisabled, "account is not disabled")
	}
	return d.out, nil
}

func (d *decider) disableIfInactive() ([]Event, error) {
	if d.s.Deleted {
		return nil, nil
	}
	if _, already := d.s.Disabled[DisableInactivity]; already {
		return nil, nil
	}
	last := d.s.LastLoginAt
	if last.IsZero() {
		last = d.s.RegisteredAt
	}
	if d.now.Before(last.Add(d.p.InactivityDisableAfter.Std())) {
		return nil, nil
	}
	return d.emit(AccountDisabled{Kind: DisableInactivity, Actor: Actor{Kind: ActorSystem, Note: "no successful login since " + last.UTC().Format(time.RFC3339)}}), nil
}

// authorise applies R5.1 and R6.4: an account acts on another only while it may log in
// itself, and only with user management on a property the target belongs to (and that
// does not suspend the actor); support acts on a written request; the system acts through
// its own rules.
func (d *decider) authorise(actor Actor, auth Authority) error {
	switch actor.Kind {
	case ActorSystem:
		return nil
	case ActorSupport:
		if strings.TrimSpace(actor.Reference) == "" {
			return refuse(CodeNotAuthorised, "a support override needs the reference of the written request")
		}
		return nil
	case ActorAccount:
		var standing error
		for _, pr := range auth.Properties {
			if d.s.IsMember(pr.ID) && pr.HasUserManagement(actor.AccountID) {
				if standing = CheckStanding(actor, auth.Actor, pr.ID, d.now, d.p); standing == nil {
					return nil
				}
			}
		}
		if standing != nil {
			return standing // the grant is there, the actor may not use it
		}
		return refuse(CodeNotAuthorised, "not authorised: the actor has no user management on the account's properties")
	}
	return refuse(CodeNotAuthorised, "not authorised: unknown actor kind %q", actor.Kind)
}

func hasUserManagementOn(actor Actor, auth Authority, propertyID string) bool {
	for _, pr := range auth.Properties {
		if pr.ID == propertyID && actor.Kind == ActorAccount && pr.HasUserManagement(actor.AccountID) {
			return true
		}
	}
	return false
}
