package messages

import (
	"embed"
	"fmt"
	"strings"
	"text/template"
	"time"
	"unicode/utf8"

	"accountd/domain"
)

// Mails are text/template files, one per mail and language under mails/<lang>/, with the
// language's shared pieces (greeting, footer, link validity) in mails/<lang>/common.tmpl.
// A mail file defines "subject"; the rest of it is the body: paragraphs separated by blank
// lines, the lines of one paragraph joined by a space. The wording follows the vendor's
// French and Italian help pages the rules are drawn from (RULES.md, seeds/).

//go:embed mails
var mailFiles embed.FS

// MailData is what one kind of mail says; its type picks the template.
type MailData interface{ template() string }

// LinkMail is a mail carrying an e-mailed link (R2.3, R2.4): how long it works and that
// only the latest one does.
type LinkMail struct {
	Email, Link     string
	Issued, Expires time.Time
}

// Validity is how long the link works, as the mail states it.
func (m LinkMail) Validity() time.Duration { return m.Expires.Sub(m.Issued) }

// The link mails.
type (
	ActivationMail    struct{ LinkMail }
	PasswordResetMail struct{ LinkMail }
	UnlockMail        struct{ LinkMail }
)

// DisabledMail tells the holder their account was disabled, and by whom in words.
type DisabledMail struct {
	Email string
	Kind  domain.DisableKind
	// ByColleague: a user-management colleague disabled it (else support or the system).
	ByColleague bool
}

// EnabledMail tells the holder their account works again.
type EnabledMail struct {
	Email              string
	MustChangePassword bool
}

// BillingMail tells a property's billing contacts (else its primary contact) that access
// is suspended for overdue invoices (R4.1).
type BillingMail struct {
	Property         string
	Invoices         []string
	AsPrimaryContact bool
}

// SuspiciousActivityMail tells a property's primary contact that a detector disabled an
// account (R3.1, R3.3).
type SuspiciousActivityMail struct {
	Property, Email string
	Rule, Detail    string
	// Addresses and Devices are the evidence, comma-separated; From and To bound its window
	// (both empty when it has none).
	Addresses, Devices string
	From, To           string
}

func (ActivationMail) template() string         { return "activation" }
func (PasswordResetMail) template() string      { return "reset" }
func (UnlockMail) template() string             { return "unlock" }
func (DisabledMail) template() string           { return "disabled" }
func (EnabledMail) template() string            { return "enabled" }
func (BillingMail) template() string            { return "billing" }
func (SuspiciousActivityMail) template() string { return "suspicious" }

// Mail is a rendered e-mail: every language in one message, English first.
type Mail struct {
	Subject, Text string
}

var mailTemplates = parseMails()

func parseMails() [numLangs]map[string]*template.Template {
	var out [numLangs]map[string]*template.Template
	for _, lang := range Langs {
		out[lang] = map[string]*template.Template{}
		names, err := mailFiles.ReadDir("mails/" + lang.String())
		if err != nil {
			panic(err)
		}
		for _, f := range names {
			name := strings.TrimSuffix(f.Name(), ".tmpl")
			if name == "common" {
				continue
			}
			dir := "mails/" + lang.String() + "/"
			out[lang][name] = template.Must(template.New(f.Name()).Option("missingkey=error").Funcs(mailFuncs(lang)).
				ParseFS(mailFiles, dir+f.Name(), dir+"common.tmpl"))
		}
	}
	return out
}

func mailFuncs(lang Lang) template.FuncMap {
	return template.FuncMap{
		"date": func(t time.Time) string { return longDate(lang, t) },
		"span": span,
		"join": strings.Join,
		"nonEmpty": func(s ...string) []string {
			var out []string
			for _, x := range s {
				if x != "" {
					out = append(out, x)
				}
			}
			return out
		},
	}
}

// RenderMail writes a mail in every language: the subjects joined (repeats dropped), then
// one section per language, paragraphs wrapped at 72 columns (a link is never wrapped),
// French punctuation held to its word with no-break spaces, and the footers.
func RenderMail(d MailData) (Mail, error) {
	var subjects []string
	var b strings.Builder
	var footers [numLangs]string
	for _, lang := range Langs {
		t, ok := mailTemplates[lang][d.template()]
		if !ok {
			return Mail{}, fmt.Errorf("messages: no %s mail template %q", lang, d.template())
		}
		subject, err := execute(t, "subject", d)
		if err != nil {
			return Mail{}, err
		}
		if s := strings.TrimSpace(subject); s != "" && !contains(subjects, s) {
			subjects = append(subjects, s)
		}
		section, err := execute(t, "section", nil)
		if err != nil {
			return Mail{}, err
		}
		if footers[lang], err = execute(t, "footer", nil); err != nil {
			return Mail{}, err
		}
		body, err := execute(t, t.Name(), d)
		if err != nil {
			return Mail{}, err
		}
		fmt.Fprintf(&b, "----- %s -----\n\n", section)
		for _, p := range paragraphs(body) {
			if lang == French {
				p = frenchSpacing(p)
			}
			b.WriteString(wrap(p, 72))
			b.WriteString("\n\n")
		}
	}
	b.WriteString("-- \n")
	for _, f := range footers {
		b.WriteString(f + "\n")
	}
	return Mail{Subject: strings.Join(subjects, " / "), Text: b.String()}, nil
}

func execute(t *template.Template, name string, data any) (string, error) {
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, name, data); err != nil {
		return "", fmt.Errorf("messages: mail %s: %w", t.Name(), err)
	}
	return b.String(), nil
}

// paragraphs splits a rendered body at blank lines and joins the lines of each paragraph.
func paragraphs(body string) []string {
	var out, cur []string
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.Join(cur, " "))
			cur = nil
		}
	}
	for _, line := range strings.Split(body, "\n") {
		if line = strings.TrimSpace(line); line == "" {
			flush()
			continue
		}
		cur = append(cur, line)
	}
	flush()
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var frenchSpacer = strings.NewReplacer(" :", "\u00a0:", " ;", "\u00a0;", " ?", "\u00a0?", " !", "\u00a0!", "« ", "«\u00a0", " »", "\u00a0»")

func frenchSpacing(s string) string { return frenchSpacer.Replace(s) }

// wrap breaks a paragraph at spaces so lines stay within width runes; a longer word (a
// link) stays whole on its own line.
func wrap(p string, width int) string {
	var out []string
	var cur strings.Builder
	n := 0
	// Split on ASCII spaces only: a no-break space must hold its words together.
	for _, w := range strings.Split(p, " ") {
		if w == "" {
			continue
		}
		wl := utf8.RuneCountInString(w)
		if n > 0 && n+1+wl > width {
			out = append(out, cur.String())
			cur.Reset()
			n = 0
		}
		if n > 0 {
			cur.WriteByte(' ')
			n++
		}
		cur.WriteString(w)
		n += wl
	}
	out = append(out, cur.String())
	return strings.Join(out, "\n")
}
