package domain

import (
	"slices"
	"strings"
	"time"
)

// Property is a customer hotel: the tenant whose billing and subscription gate its members.
type Property struct {
	ID                  string
	Name                string
	PrimaryContactEmail string
	BillingContacts     []string
	Subscription        string
	Created             bool
	Members             []string // sorted account IDs
	UserManagers        []string // sorted account IDs holding user management
	OverdueInvoices     []string // sorted invoice IDs
	AccessSuspended     bool
	SuspendedAt         time.Time
	// RestoredEffectiveAt is set while a restore waits for the configured delay (R4.2).
	RestoredEffectiveAt time.Time
	SubscriptionSince   time.Time
}

// EvolveProperty applies one event to the property state.
func EvolveProperty(s Property, e Event) Property {
	switch d := e.Data.(type) {
	case PropertyCreated:
		s.ID, s.Name, s.PrimaryContactEmail, s.Subscription, s.Created = d.PropertyID, d.Name, d.PrimaryContactEmail, d.Subscription, true
		s.SubscriptionSince = e.At
	case MemberAdded:
		s.Members = addSorted(s.Members, d.AccountID)
	case MemberRemoved:
		s.Members = removeSorted(s.Members, d.AccountID)
		s.UserManagers = removeSorted(s.UserManagers, d.AccountID)
	case UserManagementGranted:
		s.UserManagers = addSorted(s.UserManagers, d.AccountID)
	case UserManagementRevoked:
		s.UserManagers = removeSorted(s.UserManagers, d.AccountID)
	case BillingContactAdded:
		if !slices.Contains(s.BillingContacts, d.Email) {
			s.BillingContacts = append(slices.Clip(s.BillingContacts), d.Email)
		}
	case InvoiceOverdue:
		s.OverdueInvoices = addSorted(s.OverdueInvoices, d.InvoiceID)
	case InvoicePaid:
		s.OverdueInvoices = removeSorted(s.OverdueInvoices, d.InvoiceID)
	case PropertyAccessSuspended:
		s.AccessSuspended, s.SuspendedAt, s.RestoredEffectiveAt = true, e.At, time.Time{}
	case PropertyAccessRestored:
		s.RestoredEffectiveAt = d.EffectiveAt
	case SubscriptionStatusChanged:
		s.Subscription, s.SubscriptionSince = d.To, e.At
	}
	return s
}

// BillingSuspendedAt reports whether the property's access is suspended for billing at now,
// honouring a restore that waits for its delay.
func (s Property) BillingSuspendedAt(now time.Time) bool {
	if !s.AccessSuspended {
		return false
	}
	return s.RestoredEffectiveAt.IsZero() || now.Before(s.RestoredEffectiveAt)
}

// SubscriptionBlocks reports whether the subscription state refuses logins (R4.3).
func (s Property) SubscriptionBlocks() bool {
	return s.Subscription == SubscriptionSuspended || s.Subscription == SubscriptionCancelled
}

// HasUserManagement reports whether the account holds user management on this property.
func (s Property) HasUserManagement(accountID string) bool {
	_, ok := slices.BinarySearch(s.UserManagers, accountID)
	return ok
}

// HasMember reports whether the account belongs to this property.
func (s Property) HasMember(accountID string) bool {
	_, ok := slices.BinarySearch(s.Members, accountID)
	return ok
}

// authorise applies R5.1 to the property's own administration: staff act on it only with
// user management there, and only while they may log in with access to it themselves;
// support acts on a written request; the system by its own rules.
func (s Property) authorise(actor Actor, standing ActorStanding, now time.Time, p Policy) error {
	switch actor.Kind {
	case ActorSystem:
		return nil
	case ActorSupport:
		if actor.Reference == "" {
			return refuse(CodeNotAuthorised, "a support override needs the reference of the written request")
		}
		return nil
	case ActorAccount:
		if s.HasUserManagement(actor.AccountID) {
			return CheckStanding(actor, standing, s.ID, now, p)
		}
		return refuse(CodeNotAuthorised, "not authorised: the actor has no user management on property %s", s.ID)
	}
	return refuse(CodeNotAuthorised, "not authorised: an administrative action names its actor")
}

// --- property commands ----------------------------------------------------------------

type CreateProperty struct {
	PropertyID          string
	Name                string
	PrimaryContactEmail string
}

type AddMember struct {
	AccountID string
	Actor     Actor
	// Standing is the acting account's own state (CheckStanding).
	Standing ActorStanding
}

type RemoveMember struct {
	AccountID string
	Actor     Actor
	// Standing is the acting account's own state (CheckStanding).
	Standing ActorStanding
}

type GrantUserManagement struct {
	AccountID string
	Actor     Actor
	// Standing is the acting account's own state (CheckStanding).
	Standing ActorStanding
}

type RevokeUserManagement struct {
	AccountID string
	Actor     Actor
	// Standing is the acting account's own state (CheckStanding).
	Standing ActorStanding
}

type AddBillingContact struct {
	Email string
}

type MarkInvoiceOverdue struct {
	InvoiceID string
}

type MarkInvoicePaid struct {
	InvoiceID string
}

type ChangeSubscription struct {
	To    string
	Actor Actor
}

// DecideProperty turns a command into the events it causes, or refuses it.
func DecideProperty(s Property, cmd PropertyCommand, now time.Time, p Policy) ([]Event, error) {
	ev := func(ps ...Payload) []Event {
		out := make([]Event, len(ps))
		for i, pl := range ps {
			out[i] = Event{At: now, Data: pl}
		}
		return out
	}
	if _, creating := cmd.(CreateProperty); !creating && !s.Created {
		return nil, refuse(CodePropertyNotFound, "property does not exist")
	}
	switch c := cmd.(type) {
	case CreateProperty:
		if s.Created {
			return nil, refuse(CodePropertyExists, "property %s already exists", s.ID)
		}
		name := strings.TrimSpace(c.Name)
		if name == "" || len(name) > 200 {
			return nil, refuse(CodeInvalidCommand, "a property needs a name of 1 to 200 characters")
		}
		if !ValidEmail(c.PrimaryContactEmail) {
			return nil, refuse(CodeInvalidEmail, "primary contact e-mail %q is not a valid address", c.PrimaryContactEmail)
		}
		return ev(PropertyCreated{PropertyID: c.PropertyID, Name: name, PrimaryContactEmail: NormaliseEmail(c.PrimaryContactEmail), Subscription: SubscriptionActive}), nil
	case AddMember:
		if c.Actor.Kind == ActorAccount {
			if err := s.authorise(c.Actor, c.Standing, now, p); err != nil {
				return nil, err
			}
		}
		if s.HasMember(c.AccountID) {
			return nil, nil // already a member: nothing to record
		}
		return ev(MemberAdded{AccountID: c.AccountID, Actor: c.Actor}), nil
	case RemoveMember:
		if err := s.authorise(c.Actor, c.Standing, now, p); err != nil {
			return nil, err
		}
		if !s.HasMember(c.AccountID) {
			return nil, refuse(CodeNotAMember, "account %s is not a member of property %s", c.AccountID, s.ID)
		}
		return ev(MemberRemoved{AccountID: c.AccountID, Actor: c.Actor}), nil
	case GrantUserManagement:
		if err := s.authorise(c.Actor, c.Standing, now, p); err != nil {
			return nil, err
		}
		if !s.HasMember(c.AccountID) {
			return nil, refuse(CodeNotAMember, "account %s is not a member of property %s", c.AccountID, s.ID)
		}
		if s.HasUserManagement(c.AccountID) {
			return nil, nil
		}
		return ev(UserManagementGranted{AccountID: c.AccountID, Actor: c.Actor}), nil
	case RevokeUserManagement:
		if err := s.authorise(c.Actor, c.Standing, now, p); err != nil {
			return nil, err
		}
		if !s.HasUserManagement(c.AccountID) {
			return nil, nil
		}
		return ev(UserManagementRevoked{AccountID: c.AccountID, Actor: c.Actor}), nil
	case AddBillingContact:
		if !ValidEmail(c.Email) {
			return nil, refuse(CodeInvalidEmail, "billing contact %q is not a valid address", c.Email)
		}
		if slices.Contains(s.BillingContacts, NormaliseEmail(c.Email)) {
			return nil, nil
		}
		return ev(BillingContactAdded{Email: NormaliseEmail(c.Email)}), nil
	case MarkInvoiceOverdue:
		if strings.TrimSpace(c.InvoiceID) == "" {
			return nil, refuse(CodeInvalidCommand, "invoice ID is empty")
		}
		if _, overdue := slices.BinarySearch(s.OverdueInvoices, c.InvoiceID); overdue {
			return nil, nil // idempotent per invoice and state
		}
		out := ev(InvoiceOverdue{InvoiceID: c.InvoiceID})
		after := EvolveProperty(s, out[0])
		// A restore still waiting for its delay is cancelled by a new suspension.
		if len(after.OverdueInvoices) >= p.BillingOverdueThreshold && (!after.AccessSuspended || !after.RestoredEffectiveAt.IsZero()) {
			out = append(out, Event{At: now, Data: PropertyAccessSuspended{OverdueInvoices: after.OverdueInvoices}})
		}
		return out, nil
	case MarkInvoicePaid:
		if _, overdue := slices.BinarySearch(s.OverdueInvoices, c.InvoiceID); !overdue {
			return nil, nil
		}
		out := ev(InvoicePaid{InvoiceID: c.InvoiceID})
		after := EvolveProperty(s, out[0])
		if after.AccessSuspended && after.RestoredEffectiveAt.IsZero() && len(after.OverdueInvoices) < p.BillingOverdueThreshold {
			out = append(out, Event{At: now, Data: PropertyAccessRestored{EffectiveAt: now.Add(p.BillingRestoreDelay.Std())}})
		}
		return out, nil
	case ChangeSubscription:
		if c.Actor.Kind == ActorAccount {
			return nil, refuse(CodeNotAuthorised, "not authorised: the subscription is changed by the vendor, not by staff")
		}
		switch c.To {
		case SubscriptionPending, SubscriptionActive, SubscriptionSuspended, SubscriptionCancelled:
		default:
			return nil, refuse(CodeInvalidCommand, "subscription status %q is not one of pending, active, suspended, cancelled", c.To)
		}
		if c.To == s.Subscription {
			return nil, nil
		}
		return ev(SubscriptionStatusChanged{From: s.Subscription, To: c.To, Actor: c.Actor}), nil
	}
	return nil, refuse(CodeInvalidCommand, "property cannot handle %T", cmd)
}
