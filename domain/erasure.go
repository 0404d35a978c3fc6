package domain

import (
	"strings"
	"unicode/utf8"
)

// Erasure of an account (GDPR Art. 17). The erasure itself is a fact on the account's
// stream that names who erased and why, and no personal data: the personal values of the
// account's events become unreadable when the command side destroys the account's key,
// while every other fact (status, reasons, lock counts, evidence) stays. The address is
// released on its reservation stream and its skeleton claim, so the same address registers
// again as a new person; an erased account itself never comes back.

// AccountErased records an erasure. Reason is the administrator's words for the request
// (a ticket, "GDPR Art. 17 request"); it is not meant to hold personal data.
type AccountErased struct {
	Actor  Actor  `json:"actor"`
	Reason string `json:"reason"`
}

// EmailReleased frees an address's reservation: a later registration of that address
// claims it for a new account. It names the account whose claim ends, not the address.
type EmailReleased struct {
	AccountID string `json:"account_id"`
}

// EmailSkeletonReleased withdraws an account's claim on a confusable skeleton, so the
// erased account's address is neither its own look-alike nor anyone else's any more.
type EmailSkeletonReleased struct {
	AccountID string `json:"account_id"`
}

func (AccountErased) EventType() string         { return "account_erased.v1" }
func (EmailReleased) EventType() string         { return "email_released.v1" }
func (EmailSkeletonReleased) EventType() string { return "email_skeleton_released.v1" }

// EraseAccount erases an account. The actor is authorised like a deletion (R5.1): a
// colleague with user management, support on a written request, or the system (the admin
// API on its own authority).
type EraseAccount struct {
	Actor     Actor
	Reason    string
	Authority Authority
}

// ErasureReasonMax bounds the reason's length (in characters): a reference, not a file.
const ErasureReasonMax = 500

// decideErase: an erasure needs a reason; erasing an erased account writes nothing and is
// not an error, so re-sending the command (with any ID) finishes an erasure interrupted
// after its event (the command side then releases and shreds what is left).
func (d *decider) erase(c EraseAccount) ([]Event, error) {
	reason := strings.TrimSpace(c.Reason)
	if reason == "" {
		return nil, refuse(CodeErasureReasonRequired, "an erasure needs a reason")
	}
	if utf8.RuneCountInString(reason) > ErasureReasonMax {
		return nil, refuse(CodeErasureReasonRequired, "the reason of an erasure has at most %d characters", ErasureReasonMax)
	}
	if d.s.Erased {
		return nil, nil
	}
	if err := d.authorise(c.Actor, c.Authority); err != nil {
		return nil, err
	}
	d.endSessions("account_erased")
	return d.emit(AccountErased{Actor: c.Actor, Reason: reason}), nil
}

// refuseErased answers every command on an erased account but the erasure itself: nothing
// is written on a subject whose key is gone (a login would record an address no one could
// read again), and an erased account is never restored (its address may belong to a new
// account by now).
func refuseErased(s Account, cmd AccountCommand) ([]Event, error, bool) {
	if !s.Erased {
		return nil, nil, false
	}
	switch cmd.(type) {
	case EraseAccount:
		return nil, nil, false
	case DisableIfInactive:
		return nil, nil, true // the sweep passes over it
	}
	return nil, refuse(CodeAccountErased, "the account was erased"), true
}
