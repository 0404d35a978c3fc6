package history

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"accountd/commands"
	"accountd/domain"
	"accountd/eventstore"
	"accountd/eventstore/memory"
)

// Every event type goes through the whitelist with its secret fields set to a marker; the
// marker must never come out, whatever the type.
func TestHistoryNeverShowsSecrets(t *testing.T) {
	const s = "SECRET"
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	samples := []domain.Payload{
		domain.AccountRegistered{AccountID: "a", Email: "a@x.example", PasswordHash: s},
		domain.ActivationLinkIssued{TokenHash: s, Nonce: s, ExpiresAt: at}, domain.AccountActivated{TokenHash: s},
		domain.ActivationLinkRejected{TokenHash: s, Reason: "expired"},
		domain.LoginSucceeded{SessionID: s, MFAStep: 1}, domain.LoginFailed{Reason: domain.ReasonInvalidCredentials},
		domain.UnlockLinkIssued{TokenHash: s, Nonce: s}, domain.UnlockLinkRejected{TokenHash: s},
		domain.PasswordResetRequested{TokenHash: s, Nonce: s}, domain.ResetLinkRejected{TokenHash: s},
		domain.PasswordChanged{Cause: domain.PasswordChangedByReset, PasswordHash: s, TokenHash: s},
		domain.MFAEnrolmentStarted{EncryptedSecret: []byte(s)}, domain.MFAEnrolmentConfirmed{Step: 3},
		domain.SessionStarted{SessionID: s, ExpiresAt: at}, domain.SessionActive{SessionID: s}, domain.SessionEnded{SessionID: s, Cause: "logout"},
		domain.AccountLocked{FailedAttempts: 6, Threshold: 6},
	}
	store := memory.New()
	var evs []domain.Event
	for i, p := range samples {
		evs = append(evs, domain.Event{At: at.Add(time.Duration(i) * time.Second), Data: p})
	}
	data, err := commands.Encode("account-a", domain.Metadata{CommandID: "c"}, evs)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := store.Append(ctx, "account-a", eventstore.Any, data...); err != nil {
		t.Fatal(err)
	}
	r := &Reader{Store: store, Policy: domain.DefaultPolicy}
	page, err := r.Events(ctx, "a", -1, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Entries) != len(samples) {
		t.Fatalf("%d entries, want %d", len(page.Entries), len(samples))
	}
	st, err := r.StateAt(ctx, "a", at.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]any{"history": page, "state": st} {
		raw, _ := json.Marshal(v)
		if strings.Contains(string(raw), s) || strings.Contains(string(raw), "U0VDUkVU") { // base64 of the marker
			t.Errorf("%s shows a secret: %s", name, raw)
		}
	}
	if last := page.Entries[len(page.Entries)-1]; last.Status != domain.StatusLocked {
		t.Errorf("status after the lock: %s", last.Status)
	}
	if before, _ := r.StateAt(ctx, "a", at.Add(time.Second)); before.Status.Status == domain.StatusLocked {
		t.Errorf("state before the lock is locked")
	}
}
