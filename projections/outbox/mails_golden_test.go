package outbox

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"accountd/domain"
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
		l    letter
	}{
		{"activation", activationLetter("anna@lac.example", link, issued, issued.Add(24*time.Hour))},
		{"activation_one_hour", activationLetter("anna@lac.example", link, issued, issued.Add(time.Hour))},
		{"activation_minutes", activationLetter("anna@lac.example", link, issued, issued.Add(90*time.Second))},
		{"activation_no_span", activationLetter("anna@lac.example", link, issued, issued)},
		{"reset", resetLetter("anna@lac.example", link, issued, issued.Add(24*time.Hour))},
		{"reset_first_of_month", resetLetter("anna@lac.example", link, issued, time.Date(2026, 4, 1, 8, 5, 0, 0, time.UTC))},
		{"unlock", unlockLetter("anna@lac.example", link, issued, issued.Add(30*time.Minute))},
		{"disabled_manual_colleague", disabledLetter("anna@lac.example", domain.AccountDisabled{Kind: domain.DisableManual, Actor: colleague})},
		{"disabled_manual_support", disabledLetter("anna@lac.example", domain.AccountDisabled{Kind: domain.DisableManual, Actor: support})},
		{"disabled_suspicious", disabledLetter("anna@lac.example", domain.AccountDisabled{Kind: domain.DisableSuspiciousActivity, Actor: domain.Actor{Kind: domain.ActorSystem}})},
		{"disabled_inactivity", disabledLetter("anna@lac.example", domain.AccountDisabled{Kind: domain.DisableInactivity, Actor: domain.Actor{Kind: domain.ActorSystem}})},
		{"disabled_other", disabledLetter("anna@lac.example", domain.AccountDisabled{Kind: "future_kind"})},
		{"enabled", enabledLetter("anna@lac.example", false)},
		{"enabled_change_password", enabledLetter("anna@lac.example", true)},
		{"billing_one", billingLetter("Hôtel du Lac", []string{"INV-1"}, false)},
		{"billing_several_primary", billingLetter("Hôtel du Lac", []string{"INV-1", "INV-2"}, true)},
		{"suspicious", suspiciousLetter("Hôtel du Lac", "anna@lac.example", detected)},
		{"suspicious_bare", suspiciousLetter("Hôtel du Lac", "anna@lac.example", domain.SuspiciousActivityDetected{Rule: "new_country", Action: "account_disabled"})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := "Subject: " + c.l.Subject() + "\n\n" + c.l.Text()
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
