package domain

import (
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	// Decoding only: events are written by encoding/json, whose output the hash chain
	// covers; reading them back is the largest cost of a rebuild, and go-json decodes the
	// same JSON into the same values about twice as fast.
	fastjson "github.com/goccy/go-json"
)

// registry maps each versioned event type name to its payload type. An older version that
// is ever superseded stays registered with an upcaster, so old logs keep replaying.
var registry = map[string]reflect.Type{}

func register(ps ...Payload) {
	for _, p := range ps {
		name := p.EventType()
		if _, dup := registry[name]; dup {
			panic("domain: event type registered twice: " + name)
		}
		registry[name] = reflect.TypeOf(p)
	}
}

func init() {
	register(
		AccountRegistered{}, ActivationLinkIssued{}, AccountActivated{}, ActivationLinkRejected{},
		LinkedToProperty{}, UnlinkedFromProperty{}, LoginSucceeded{}, LoginFailed{}, LoginRejected{},
		AccountLocked{}, AccountUnlocked{}, UnlockLinkIssued{}, UnlockLinkRejected{},
		PasswordResetRequested{}, ResetLinkRejected{}, PasswordChanged{}, PasswordChangeRequired{},
		MFAEnrolmentStarted{}, MFAEnrolmentConfirmed{}, MFAEnrolmentDeferred{}, MFACodeRejected{},
		MFACooldownStarted{}, MFAReset{}, SuspiciousActivityDetected{}, AccountDisabled{},
		AccountEnabled{}, SessionStarted{}, SessionActive{}, SessionEnded{}, AccountDeleted{}, AccountRestored{},
		EmailReserved{}, EmailSkeletonClaimed{}, EmailSkeletonsIndexed{}, UnknownEmailLoginFailed{}, LinkRequestDeclined{}, PropertyCreated{}, MemberAdded{}, MemberRemoved{}, UserManagementGranted{},
		UserManagementRevoked{}, BillingContactAdded{}, InvoiceOverdue{}, InvoicePaid{},
		PropertyAccessSuspended{}, PropertyAccessRestored{}, SubscriptionStatusChanged{}, PolicyChanged{},
		AddressThrottled{}, PropertyAttackDetected{}, MailSent{}, MailDeadLettered{}, KeyFingerprintRecorded{},
		AccountErased{}, EmailReleased{}, EmailSkeletonReleased{},
	)
}

// EventTypes lists every registered event type name.
func EventTypes() []string {
	out := make([]string, 0, len(registry))
	for name := range registry {
		out = append(out, name)
	}
	return out
}

// EncodePayload returns the event's type name and JSON body.
func EncodePayload(p Payload) (string, []byte, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return "", nil, fmt.Errorf("encode %s: %w", p.EventType(), err)
	}
	return p.EventType(), b, nil
}

// DecodePayload turns a stored type name and JSON body back into a payload.
func DecodePayload(eventType string, data []byte) (Payload, error) {
	t, ok := registry[eventType]
	if !ok {
		return nil, refuse(CodeUnknownEventType, "unknown event type %q", eventType)
	}
	ptr := reflect.New(t)
	if err := fastjson.Unmarshal(data, ptr.Interface()); err != nil {
		return nil, fmt.Errorf("decode %s: %w", eventType, err)
	}
	return ptr.Elem().Interface().(Payload), nil
}

// Metadata travels beside each event in the log: when it happened in domain time, and which
// command (and request) caused it, so a retried command is recognised and a reader can
// follow a request across streams.
type Metadata struct {
	OccurredAt    time.Time `json:"occurred_at"`
	CommandID     string    `json:"command_id,omitempty"`
	CorrelationID string    `json:"correlation_id,omitempty"`
	CausationID   string    `json:"causation_id,omitempty"`
}
