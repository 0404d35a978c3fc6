package domain

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// Every registered event type must survive the trip through its stored JSON form unchanged:
// a field that does not is a field replay silently loses.
func TestEveryEventTypeRoundTrips(t *testing.T) {
	at := time.Date(2026, 5, 1, 8, 30, 0, 0, time.UTC)
	samples := []Payload{
		AccountRegistered{AccountID: "a1", Email: "é@hôtel.example", PropertyID: "p1", PasswordHash: "$argon2id$x", Policy: PolicyInForce{MinLength: 12, HistoryDepth: 4, MaxAge: Duration(90 * day)}},
		ActivationLinkIssued{TokenHash: "h", ExpiresAt: at}, AccountActivated{TokenHash: "h"}, ActivationLinkRejected{TokenHash: "h", Reason: LinkExpired},
		LinkedToProperty{PropertyID: "p"}, UnlinkedFromProperty{PropertyID: "p", Actor: Actor{Kind: ActorAccount, AccountID: "b"}},
		LoginSucceeded{Origin: Origin{IP: "::1", UserAgent: "ua", DeviceID: "d"}, SessionID: "s", MFAStep: 42},
		LoginFailed{Origin: Origin{IP: "1.2.3.4"}, Reason: ReasonInvalidCredentials, FailedAttempts: 3},
		LoginRejected{Reasons: []string{ReasonAccountLocked}, CredentialsVerified: true},
		AccountLocked{FailedAttempts: 6, Threshold: 6}, AccountUnlocked{Cause: UnlockByAdmin, Actor: &Actor{Kind: ActorAccount, AccountID: "b"}},
		UnlockLinkIssued{TokenHash: "h", ExpiresAt: at}, UnlockLinkRejected{TokenHash: "h", Reason: LinkUsed},
		PasswordResetRequested{TokenHash: "h", ExpiresAt: at}, ResetLinkRejected{TokenHash: "h", Reason: LinkSuperseded},
		PasswordChanged{Cause: PasswordChangedByReset, PasswordHash: "x", TokenHash: "h", Policy: PolicyInForce{MinLength: 12}},
		PasswordChangeRequired{Reason: "r"}, MFAEnrolmentStarted{EncryptedSecret: []byte{0, 1, 2, 255}},
		MFAEnrolmentConfirmed{Step: 9}, MFAEnrolmentDeferred{Until: at}, MFACodeRejected{FailedAttempts: 2, Replayed: true},
		MFACooldownStarted{Until: at, FailedAttempts: 5}, MFAReset{Actor: Actor{Kind: ActorSupport, Reference: "REQ-1"}},
		SuspiciousActivityDetected{Rule: "shared_account", Evidence: Evidence{Addresses: []string{"a", "b"}, WindowStart: at, WindowEnd: at.Add(time.Minute)}, Action: "account_disabled", Notified: []string{"direction@lac.example"}},
		AccountDisabled{Kind: DisableManual, PropertyID: "p", Actor: Actor{Kind: ActorAccount, AccountID: "b", Note: "left"}},
		AccountEnabled{Kind: DisableManual, Actor: Actor{Kind: ActorSystem}},
		SessionStarted{SessionID: "s", ExpiresAt: at, IdleAfter: Duration(6 * time.Hour)}, SessionEnded{SessionID: "s", Cause: "logout"}, SessionActive{SessionID: "s"},
		AccountDeleted{Actor: Actor{Kind: ActorAccount, AccountID: "b"}}, AccountRestored{Actor: Actor{Kind: ActorAccount, AccountID: "b"}},
		EmailReserved{Email: "x@y.example", AccountID: "a"},
		EmailSkeletonClaimed{Email: "x@y.example", AccountID: "a"},
		LinkRequestDeclined{EmailHash: "h", Link: LinkReset, Reason: LinkDeclinedNoAccount},
		EmailSkeletonsIndexed{Through: 42, Claimed: 7},
		AccountErased{Actor: Actor{Kind: ActorSupport, Reference: "GDPR-1"}, Reason: "GDPR Art. 17 request"},
		EmailReleased{AccountID: "a"}, EmailSkeletonReleased{AccountID: "a"},
		MailSent{MessageID: "m", Kind: "activation", AccountID: "a", CauseID: "e", CausePosition: 7, Attempts: 1},
		MailDeadLettered{MessageID: "m", Kind: "unlock", AccountID: "a", CauseID: "e", CausePosition: 7, CauseType: "unlock_link_issued.v1", Attempts: 8, Reason: MailAttemptsExhausted, Detail: "451 try later", Migrated: true},
		KeyFingerprintRecorded{Purpose: KeyPurposeMFA, Fingerprint: "sha256:00ff", Replaces: "sha256:ff00"},
		UnknownEmailLoginFailed{EmailHash: "0f", Origin: Origin{IP: "198.51.100.4"}, FailedAttempts: 2},
		PropertyCreated{PropertyID: "p", Name: "Hôtel du Lac", PrimaryContactEmail: "c@lac.example", Subscription: SubscriptionActive},
		MemberAdded{AccountID: "a"}, MemberRemoved{AccountID: "a"}, UserManagementGranted{AccountID: "a"}, UserManagementRevoked{AccountID: "a"},
		BillingContactAdded{Email: "b@lac.example"}, InvoiceOverdue{InvoiceID: "i1"}, InvoicePaid{InvoiceID: "i1"},
		PropertyAccessSuspended{OverdueInvoices: []string{"i1", "i2"}}, PropertyAccessRestored{EffectiveAt: at},
		SubscriptionStatusChanged{From: SubscriptionActive, To: SubscriptionCancelled},
		PolicyChanged{Policy: DefaultPolicy(), Actor: Actor{Kind: ActorSystem}},
		AddressThrottled{IP: "198.51.100.4", Until: at, Rule: RuleCredentialStuffing, Evidence: Evidence{Addresses: []string{"198.51.100.4"}, EventIDs: []string{"e1"}}},
		PropertyAttackDetected{PropertyID: "p", Rule: RulePasswordSpraying, Action: ActionRecordedForReview, Accounts: []string{"a", "b"}, Evidence: Evidence{WindowStart: at}},
	}
	seen := map[string]bool{}
	for _, p := range samples {
		typ, body, err := EncodePayload(p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodePayload(typ, body)
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		if !reflect.DeepEqual(got, p) {
			t.Errorf("%s round trip:\n got %#v\nwant %#v", typ, got, p)
		}
		seen[typ] = true
	}
	for _, name := range EventTypes() {
		if !seen[name] {
			t.Errorf("event type %s has no round-trip sample", name)
		}
	}
}

func TestDecodeRefusesUnknownTypeWithStableCode(t *testing.T) {
	if _, err := DecodePayload("martian_landed.v1", []byte(`{}`)); ErrorCode(err) != CodeUnknownEventType {
		t.Fatalf("got %v", err)
	}
	if _, err := DecodePayload(LoginFailed{}.EventType(), []byte(`{"failed_attempts": "six"}`)); err == nil {
		t.Fatal("malformed body accepted")
	}
}

// DecodePayload reads with go-json, while events are written by encoding/json. Whatever the
// stored JSON looks like (every type's own output, fields from a later version, nulls,
// escapes, reordered keys), both decoders must produce the same value, or a rebuild would
// fold a history differently from the command side's first decision.
func TestFastDecoderAgreesWithEncodingJSON(t *testing.T) {
	raw := []struct{ typ, body string }{
		{"login_failed.v1", `{"reason":"invalid_credentials","failed_attempts":3,"origin":{"ip":"1.2.3.4","user_agent":"a\u00e9\"b"},"added_in_v2":{"x":[1,2]}}`},
		{"login_failed.v1", `{"failed_attempts":null,"origin":null,"reason":"invalid_credentials"}`},
		{"account_registered.v1", `{"policy":{"max_age":"90d","min_length":12},"email":"\u00e9@h\u00f4tel.example","account_id":"a1"}`},
		{"session_started.v1", `{"session_id":"s","expires_at":"2026-05-01T08:30:00.123456789+02:00","idle_after":"6h0m0s"}`},
		{"mfa_enrolment_started.v1", `{"encrypted_secret":"AAEC/w=="}`},
	}
	for _, r := range raw {
		fast, err := DecodePayload(r.typ, []byte(r.body))
		if err != nil {
			t.Fatalf("%s %s: %v", r.typ, r.body, err)
		}
		std := reflect.New(registry[r.typ])
		if err := json.Unmarshal([]byte(r.body), std.Interface()); err != nil {
			t.Fatalf("encoding/json %s: %v", r.body, err)
		}
		if !reflect.DeepEqual(fast, std.Elem().Interface()) {
			t.Errorf("%s %s:\n go-json       %#v\n encoding/json %#v", r.typ, r.body, fast, std.Elem().Interface())
		}
	}
}
