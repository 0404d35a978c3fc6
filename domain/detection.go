package domain

import (
	"fmt"
	"time"
)

// Detection rules (R3). The names are stable: they appear in events and on the timeline.
const (
	RuleSharedAccount          = "shared_account"
	RuleCredentialStuffing     = "credential_stuffing"
	RulePasswordSpraying       = "password_spraying"
	RuleMFAGuessing            = "mfa_guessing"
	RuleNewDeviceAfterRecovery = "new_device_after_recovery"
)

// Actions a detection may record.
const (
	ActionAccountDisabled   = "account_disabled"
	ActionRecordedForReview = "recorded_for_review"
	ActionAddressThrottled  = "address_throttled"
)

// PropertyAttackDetected is a detection about a property rather than one account
// (password spraying), kept on the property's detection stream for review (R3.3).
type PropertyAttackDetected struct {
	PropertyID string   `json:"property_id"`
	Rule       string   `json:"rule"`
	Evidence   Evidence `json:"evidence"`
	Action     string   `json:"action"`
	Accounts   []string `json:"accounts,omitempty"`
}

func (PropertyAttackDetected) EventType() string { return "property_attack_detected.v1" }

// PropertyDetectionStream names the stream of detections about a property. It is apart
// from the property stream so recording one never conflicts with property administration.
func PropertyDetectionStream(propertyID string) string { return "detections-property-" + propertyID }

// DetectorPolicy holds every detection threshold (R3): settings, never constants.
type DetectorPolicy struct {
	SharedAccountWindow Duration `json:"shared_account_window"`

	StuffingWindow         Duration `json:"stuffing_window"`
	StuffingDistinctEmails int      `json:"stuffing_distinct_emails"`
	StuffingCoolOff        Duration `json:"stuffing_cool_off"`

	SprayingWindow       Duration `json:"spraying_window"`
	SprayingMinAccounts  int      `json:"spraying_min_accounts"`
	SprayingMaxAddresses int      `json:"spraying_max_addresses"`

	MFAGuessingWindow    Duration `json:"mfa_guessing_window"`
	MFAGuessingCooldowns int      `json:"mfa_guessing_cooldowns"`

	NewDeviceWindow Duration `json:"new_device_window"`
	// NewDeviceDisable disables instead of only recording (default false: review only).
	NewDeviceDisable bool `json:"new_device_disable"`
}

// DefaultDetectorPolicy is the defaults.
func DefaultDetectorPolicy() DetectorPolicy {
	return DetectorPolicy{
		SharedAccountWindow:    Duration(10 * time.Minute),
		StuffingWindow:         Duration(10 * time.Minute),
		StuffingDistinctEmails: 10,
		StuffingCoolOff:        Duration(15 * time.Minute),
		SprayingWindow:         Duration(10 * time.Minute),
		SprayingMinAccounts:    5,
		SprayingMaxAddresses:   2,
		MFAGuessingWindow:      Duration(time.Hour),
		MFAGuessingCooldowns:   2,
		NewDeviceWindow:        Duration(time.Hour),
	}
}

// Validate refuses settings that would make a rule meaningless or unbounded. Windows are
// capped at a day because the detectors keep each window in memory.
func (p DetectorPolicy) Validate() error {
	var probs []PolicyProblem
	window := func(name string, d Duration) {
		if d.Std() <= 0 || d.Std() > 24*time.Hour {
			probs = append(probs, PolicyProblem{Field: name, Message: fmt.Sprintf("must be more than 0 and at most 24h, got %s", d.Std())})
		}
	}
	atLeast := func(name string, v, lo int) {
		if v < lo {
			probs = append(probs, PolicyProblem{Field: name, Message: fmt.Sprintf("must be at least %d, got %d", lo, v)})
		}
	}
	window("shared_account_window", p.SharedAccountWindow)
	window("stuffing_window", p.StuffingWindow)
	window("stuffing_cool_off", p.StuffingCoolOff)
	window("spraying_window", p.SprayingWindow)
	window("mfa_guessing_window", p.MFAGuessingWindow)
	window("new_device_window", p.NewDeviceWindow)
	atLeast("stuffing_distinct_emails", p.StuffingDistinctEmails, 2)
	atLeast("spraying_min_accounts", p.SprayingMinAccounts, 2)
	atLeast("spraying_max_addresses", p.SprayingMaxAddresses, 1)
	atLeast("mfa_guessing_cooldowns", p.MFAGuessingCooldowns, 1)
	if len(probs) > 0 {
		return &PolicyError{Problems: probs}
	}
	return nil
}

// LongestWindow is how far back the detectors ever look.
func (p DetectorPolicy) LongestWindow() time.Duration {
	return max(p.SharedAccountWindow.Std(), p.StuffingWindow.Std(), p.SprayingWindow.Std(), p.MFAGuessingWindow.Std(), p.NewDeviceWindow.Std())
}
