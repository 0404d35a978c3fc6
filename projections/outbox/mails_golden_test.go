package outbox

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"accountd/domain"
	"accountd/domain/messages"
)

var updateMails = flag.Bool("update-mails", false, "rewrite testdata/mails from the current templates")

// TestMailsMatchGolden renders every mail the outbox writes, in every variant its wording
// has, and compares it byte for byte with testdata/mails: a template edit shows up here as
// a diff of exactly the words that changed.
func TestMailsMatchGolden(t *testing.T) {
	issued := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	link := "https://login.example/activate?token=abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz"
	colleague := domain.Actor{Kind: domain.ActorAccount, AccountID: "acc-2"}
	support := domain.Actor{Kind: domain.ActorSupport, Reference: "REQ-7"}
	detected := domain.SuspiciousActivityDetected{Rule: "shared_login", Action: "account_disabled", Evidence: domain.Evidence{
		Addresses: []string{"198.51.100.7", "203.0.113.9"}, Devices: []string{"pc-1", "phone-2"},
		WindowStart: issued, WindowEnd: issued.Add(40 * time.Minute), Detail: "Two devices used the account at once.",
	}}
	cases := []struct {
		name string
		mail messages.MailData
	}{
		{"activation", activationMail("anna@lac.example", link, issued, issued.Add(24*time.Hour))},
		{"activation_one_hour", activationMail("anna@lac.example", link, issued, issued.Add(time.Hour))},
		{"activation_minutes", activationMail("anna@lac.example", link, issued, issued.Add(90*time.Second))},
		{"activation_no_span", activationMail("anna@lac.example", link, issued, issued)},
		{"reset", resetMail("anna@lac.example", link, issued, issued.Add(24*time.Hour))},
		{"reset_first_of_month", resetMail("anna@lac.example", link, issued, time.Date(2026, 4, 1, 8, 5, 0, 0, time.UTC))},
		{"unlock", unlockMail("anna@lac.example", link, issued, issued.Add(30*time.Minute))},
		{"disabled_manual_colleague", disabledMail("anna@lac.example", domain.AccountDisabled{Kind: domain.DisableManual, Actor: colleague})},
		{"disabled_manual_support", disabledMail("anna@lac.example", domain.AccountDisabled{Kind: domain.DisableManual, Actor: support})},
		{"disabled_suspicious", disabledMail("anna@lac.example", domain.AccountDisabled{Kind: domain.DisableSuspiciousActivity, Actor: domain.Actor{Kind: domain.ActorSystem}})},
		{"disabled_inactivity", disabledMail("anna@lac.example", domain.AccountDisabled{Kind: domain.DisableInactivity, Actor: domain.Actor{Kind: domain.ActorSystem}})},
		{"disabled_other", disabledMail("anna@lac.example", domain.AccountDisabled{Kind: "future_kind"})},
		{"enabled", enabledMail("anna@lac.example", false)},
		{"enabled_change_password", enabledMail("anna@lac.example", true)},
		{"billing_one", billingMail("Hôtel du Lac", []string{"INV-1"}, false)},
		{"billing_several_primary", billingMail("Hôtel du Lac", []string{"INV-1", "INV-2"}, true)},
		{"suspicious", suspiciousMail("Hôtel du Lac", "anna@lac.example", detected)},
		{"suspicious_bare", suspiciousMail("Hôtel du Lac", "anna@lac.example", domain.SuspiciousActivityDetected{Rule: "new_country", Action: "account_disabled"})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := messages.RenderMail(c.mail)
			if err != nil {
				t.Fatal(err)
			}
			got := "Subject: " + m.Subject + "\n\n" + m.Text
			path := filepath.Join("testdata", "mails", c.name+".txt")
			if *updateMails {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("%s differs from %s:\n%s", c.name, path, got)
			}
		})
	}
}
