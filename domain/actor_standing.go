package domain

import (
	"strings"
	"time"
)

// An account acts on another (disables, unlocks, deletes, resets MFA, manages members)
// only while it may itself log in: a locked, disabled, deleted or suspended colleague keeps
// its user-management grant on record but cannot use it. Otherwise locking someone out
// would not stop them acting, which is what a lock or a disable is for.

// ActorStanding is an acting account's own state and the states of its properties, as the
// command side loaded them for the decision.
type ActorStanding struct {
	Account    Account
	Properties []Property
}

// CheckStanding refuses, with actor_inactive, an account actor that may not log in at now,
// or whose access to propertyID (when given) is suspended. Other actors always stand.
func CheckStanding(actor Actor, st ActorStanding, propertyID string, now time.Time, p Policy) error {
	if actor.Kind != ActorAccount {
		return nil
	}
	if !st.Account.Registered || st.Account.ID != actor.AccountID {
		return refuse(CodeActorInactive, "the acting account %s does not exist", actor.AccountID)
	}
	status := EvaluateStatus(st.Account, st.Properties, now, p)
	reasons := blockingReasons(status.Reasons)
	if status.HasReason(ReasonAccountLocked) {
		reasons = append(reasons, ReasonAccountLocked)
	}
	if propertyID != "" {
		for _, pa := range status.Properties {
			if pa.PropertyID == propertyID && !pa.Allowed {
				for _, r := range pa.Reasons {
					reasons = append(reasons, r.Code)
				}
			}
		}
	}
	if len(reasons) > 0 {
		return refuse(CodeActorInactive, "the acting account may not log in itself (%s), so it cannot act on others", strings.Join(reasons, ", "))
	}
	return nil
}
