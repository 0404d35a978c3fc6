package domain

// Stable reason codes: why an account may not log in, or why an attempt was refused.
const (
	ReasonInvalidCredentials         = "invalid_credentials"
	ReasonAccountLocked              = "account_locked"
	ReasonPasswordExpired            = "password_expired"
	ReasonDisabledSuspiciousActivity = "disabled_suspicious_activity"
	ReasonDisabledManually           = "disabled_manually"
	ReasonDisabledInactivity         = "disabled_inactivity"
	ReasonDisabledBilling            = "disabled_billing"
	ReasonPropertySuspended          = "property_suspended"
	ReasonPendingActivation          = "pending_activation"
	ReasonMFARequired                = "mfa_required"
	ReasonMFAInvalidCode             = "mfa_invalid_code"
	ReasonMFACooldown                = "mfa_cooldown"
	ReasonMFAEnrollmentRequired      = "mfa_enrollment_required"
	ReasonPasswordChangeRequired     = "password_change_required"
	ReasonAccountDeleted             = "account_deleted"
)

// Statuses of an account.
const (
	StatusActive            = "active"
	StatusPendingActivation = "pending_activation"
	StatusLocked            = "locked"
	StatusPasswordExpired   = "password_expired"
	StatusDisabled          = "disabled"
	StatusDeleted           = "deleted"
)

// Remediation codes: what fixes a reason. The login service can branch on them; people read
// the localised text.
const (
	FixNone             = ""
	FixCheckCredentials = "check_credentials"
	FixResetPassword    = "reset_password"
	FixUseUnlockLink    = "use_unlock_link"
	FixAskColleague     = "ask_user_management_colleague"
	FixContactSupport   = "contact_support"
	FixPayInvoice       = "pay_invoice"
	FixWait             = "wait"
	FixEnrolMFA         = "enrol_mfa"
	FixEnterMFACode     = "enter_mfa_code"
	FixActivate         = "use_activation_link"
	FixChangePassword   = "change_password"
	FixRecreateAccount  = "ask_colleague_to_recreate"
)

// ReasonInfo is what a reason implies: the status it puts the account in and the
// remediation that fixes it. Its words are in package messages.
type ReasonInfo struct {
	Code        string
	Status      string // status the reason puts the account in ("" for attempt-only reasons)
	Remediation string
	// Prompt marks a step the person must take after proving the password (enter a code,
	// enrol, change the password): generic disclosure cannot hide it, and it reveals nothing.
	Prompt bool
}

var catalogue = map[string]ReasonInfo{
	ReasonInvalidCredentials:         {Remediation: FixCheckCredentials},
	ReasonAccountLocked:              {Status: StatusLocked, Remediation: FixUseUnlockLink},
	ReasonPasswordExpired:            {Status: StatusPasswordExpired, Remediation: FixResetPassword},
	ReasonDisabledSuspiciousActivity: {Status: StatusDisabled, Remediation: FixAskColleague},
	ReasonDisabledManually:           {Status: StatusDisabled, Remediation: FixAskColleague},
	ReasonDisabledInactivity:         {Status: StatusDisabled, Remediation: FixAskColleague},
	ReasonDisabledBilling:            {Status: StatusDisabled, Remediation: FixPayInvoice},
	ReasonPropertySuspended:          {Status: StatusDisabled, Remediation: FixContactSupport},
	ReasonPendingActivation:          {Status: StatusPendingActivation, Remediation: FixActivate},
	ReasonMFARequired:                {Prompt: true, Remediation: FixEnterMFACode},
	ReasonMFAInvalidCode:             {Prompt: true, Remediation: FixEnterMFACode},
	ReasonMFACooldown:                {Prompt: true, Remediation: FixWait},
	ReasonMFAEnrollmentRequired:      {Prompt: true, Remediation: FixEnrolMFA},
	ReasonPasswordChangeRequired:     {Prompt: true, Remediation: FixChangePassword},
	ReasonAccountDeleted:             {Status: StatusDeleted, Remediation: FixRecreateAccount},
}

func init() {
	for code, info := range catalogue {
		info.Code = code
		catalogue[code] = info
	}
}

// LookupReason returns the catalogue entry of a reason code.
func LookupReason(code string) (ReasonInfo, bool) {
	info, ok := catalogue[code]
	return info, ok
}

// ReasonCodes lists every reason code the engine can give.
func ReasonCodes() []string {
	out := make([]string, 0, len(catalogue))
	for code := range catalogue {
		out = append(out, code)
	}
	return out
}

// IsPrompt tells whether a reason is a step to take rather than a refusal (ReasonInfo.Prompt).
func IsPrompt(code string) bool { return catalogue[code].Prompt }
