package outbox_test

import (
	"path/filepath"
	"strings"
	"testing"

	"accountd/commands"
	"accountd/domain"
	"accountd/projections/outbox"
)

// An outbox that reaches an account's mail events only after the account was erased (it
// lagged: a restart, a slow mailer) sends none of them; one that had sent them removes
// their files when it reaches the erasure. Another account's mail is untouched.
func TestErasedAccountsMailIsNotSentAndIsRemoved(t *testing.T) {
	support := domain.Actor{Kind: domain.ActorSupport, Reference: "GDPR-3"}
	tests := []struct {
		name       string
		sentBefore bool // the outbox caught up before the erasure
	}{
		{"mail pending at the erasure is not sent", false},
		{"mail written before the erasure is removed", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			db := openDB(t, filepath.Join(t.TempDir(), "rm.db"))
			fm := e.fileMailer(t)
			reg := e.register(t, "gone@lac.example", "")
			e.register(t, "kept@lac.example", "")
			if _, err := e.svc.RequestPasswordReset(e.ctx, commands.Meta{}, "gone@lac.example"); err != nil {
				t.Fatal(err)
			}
			rec := &recorder{}
			var m outbox.Mailer = rec // keeps what it was handed: nothing to take back
			if tc.sentBefore {
				m = fm
			}
			ob := e.outbox(t, db, m)
			if tc.sentBefore {
				if err := ob.CatchUp(e.ctx); err != nil {
					t.Fatal(err)
				}
				if n := len(mailsTo(t, e.dir, "gone@lac.example")); n != 2 {
					t.Fatalf("%d mails to the account before its erasure, want 2", n)
				}
			}
			if _, err := e.svc.EraseAccount(e.ctx, commands.Meta{}, reg.AccountID, commands.Erasure{Actor: support, Reason: "GDPR Art. 17"}); err != nil {
				t.Fatal(err)
			}
			if err := ob.CatchUp(e.ctx); err != nil {
				t.Fatal(err)
			}
			if !tc.sentBefore {
				for _, msg := range rec.messages() {
					if strings.Contains(strings.Join(msg.To, ","), "gone@") {
						t.Fatalf("mail sent to the erased account: %+v", msg)
					}
				}
				if len(rec.messages()) != 1 {
					t.Fatalf("%d messages sent, want the other account's activation", len(rec.messages()))
				}
			} else {
				if got := mailsTo(t, e.dir, "gone@lac.example"); len(got) != 0 {
					t.Fatalf("mail files of the erased account: %v", got)
				}
				if got := mailsTo(t, e.dir, "kept@lac.example"); len(got) != 1 {
					t.Fatalf("%d mails to the other account, want its activation", len(got))
				}
			}
			var email string
			if err := db.DB.QueryRow(`SELECT email FROM outbox_accounts WHERE account_id = ?`, reg.AccountID).Scan(&email); err != nil || email != domain.Erased {
				t.Fatalf("outbox_accounts keeps %q (%v)", email, err)
			}
		})
	}
}

func mailsTo(t *testing.T, dir, to string) []string {
	t.Helper()
	var out []string
	for _, m := range readEMLs(t, dir) {
		if strings.Contains(strings.ToLower(m.header.Get("To")), to) {
			out = append(out, m.path)
		}
	}
	return out
}
