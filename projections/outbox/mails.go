package outbox

import (
	"strings"
	"time"

	"accountd/domain"
	"accountd/domain/messages"
)

// What each mail event says, for the templates of domain/messages to word: the outbox
// decides who is told what, messages decides the words.

func activationMail(email, link string, issued, expires time.Time) messages.MailData {
	return messages.ActivationMail{LinkMail: messages.LinkMail{Email: email, Link: link, Issued: issued, Expires: expires}}
}

func resetMail(email, link string, issued, expires time.Time) messages.MailData {
	return messages.PasswordResetMail{LinkMail: messages.LinkMail{Email: email, Link: link, Issued: issued, Expires: expires}}
}

func unlockMail(email, link string, issued, expires time.Time) messages.MailData {
	return messages.UnlockMail{LinkMail: messages.LinkMail{Email: email, Link: link, Issued: issued, Expires: expires}}
}

func disabledMail(email string, e domain.AccountDisabled) messages.MailData {
	return messages.DisabledMail{Email: email, Kind: e.Kind, ByColleague: e.Actor.Kind == domain.ActorAccount}
}

func enabledMail(email string, mustChangePassword bool) messages.MailData {
	return messages.EnabledMail{Email: email, MustChangePassword: mustChangePassword}
}

func billingMail(property string, invoices []string, asPrimaryContact bool) messages.MailData {
	return messages.BillingMail{Property: property, Invoices: invoices, AsPrimaryContact: asPrimaryContact}
}

func suspiciousMail(property, email string, d domain.SuspiciousActivityDetected) messages.MailData {
	m := messages.SuspiciousActivityMail{Property: property, Email: email, Rule: d.Rule, Detail: d.Evidence.Detail,
		Addresses: strings.Join(d.Evidence.Addresses, ", "), Devices: strings.Join(d.Evidence.Devices, ", ")}
	if !d.Evidence.WindowStart.IsZero() && !d.Evidence.WindowEnd.IsZero() {
		m.From, m.To = d.Evidence.WindowStart.UTC().Format("2006-01-02 15:04"), d.Evidence.WindowEnd.UTC().Format("2006-01-02 15:04 UTC")
	}
	return m
}
