package outbox

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"accountd/domain"
)

// The wording follows the vendor's French and Italian help pages the rules are drawn from
// (RULES.md, seeds/): "Réinitialisation de votre mot de passe", "Reimpostazione della
// password", "valable 24 heures", "seul le lien ... du tout dernier e-mail", "Did you forget
// to pay your invoice?"... Every mail has an English, a French and an Italian section.

const (
	en = iota
	fr
	it
	languages
)

// letter is a mail's words before rendering: a subject and paragraphs per language.
type letter struct {
	subject [languages]string
	body    [languages][]string
}

var (
	sectionTitle = [languages]string{"English", "Français", "Italiano"}
	footer       = [languages]string{
		"This is an automatic message, please do not reply.",
		"Ceci est un message automatique, merci de ne pas y répondre.",
		"Questo è un messaggio automatico, ti preghiamo di non rispondere.",
	}
)

// Subject joins the three subjects, dropping repeats.
func (l letter) Subject() string {
	var parts []string
	for _, s := range l.subject {
		if s != "" && !contains(parts, s) {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " / ")
}

// Text lays the sections out one after the other, paragraphs wrapped at 72 columns (a link
// is never wrapped), French punctuation held to its word with no-break spaces.
func (l letter) Text() string {
	var b strings.Builder
	for lang := range languages {
		fmt.Fprintf(&b, "----- %s -----\n\n", sectionTitle[lang])
		for _, p := range l.body[lang] {
			if lang == fr {
				p = frenchSpacing(p)
			}
			b.WriteString(wrap(p, 72))
			b.WriteString("\n\n")
		}
	}
	b.WriteString("-- \n")
	for _, f := range footer {
		b.WriteString(f + "\n")
	}
	return b.String()
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
// link) stays whole on its own line. Explicit line breaks are kept.
func wrap(p string, width int) string {
	var out []string
	for _, line := range strings.Split(p, "\n") {
		var cur strings.Builder
		n := 0
		// Split on ASCII spaces only: a no-break space must hold its words together.
		for _, w := range strings.Split(line, " ") {
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
	}
	return strings.Join(out, "\n")
}

var (
	monthsEN = [...]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
	monthsFR = [...]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"}
	monthsIT = [...]string{"gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre", "ottobre", "novembre", "dicembre"}
)

// longDate is an instant in UTC, written the way each language writes dates.
func longDate(lang int, t time.Time) string {
	t = t.UTC()
	hm := t.Format("15:04")
	switch lang {
	case fr:
		day := fmt.Sprint(t.Day())
		if t.Day() == 1 {
			day = "1er"
		}
		return fmt.Sprintf("%s %s %d à %s UTC", day, monthsFR[t.Month()-1], t.Year(), hm)
	case it:
		day := fmt.Sprint(t.Day())
		if t.Day() == 1 {
			day = "1º"
		}
		return fmt.Sprintf("%s %s %d alle %s UTC", day, monthsIT[t.Month()-1], t.Year(), hm)
	default:
		return fmt.Sprintf("%d %s %d at %s UTC", t.Day(), monthsEN[t.Month()-1], t.Year(), hm)
	}
}

// span writes a link's validity: whole hours when it is at least an hour, else minutes.
func span(lang int, d time.Duration) string {
	unit := func(n int, one, many [languages]string) string {
		if n == 1 {
			return "1 " + one[lang]
		}
		return fmt.Sprintf("%d %s", n, many[lang])
	}
	if d >= time.Hour {
		return unit(int(d.Round(time.Hour)/time.Hour), [languages]string{"hour", "heure", "ora"}, [languages]string{"hours", "heures", "ore"})
	}
	return unit(max(1, int(d.Round(time.Minute)/time.Minute)), [languages]string{"minute", "minute", "minuto"}, [languages]string{"minutes", "minutes", "minuti"})
}

// validity is the paragraph every link mail carries (R2.3, R2.4): how long the link works
// and that only the latest one does.
func validity(lang int, issued, expires time.Time) string {
	until := longDate(lang, expires)
	d := expires.Sub(issued)
	switch lang {
	case fr:
		if d <= 0 {
			return "Ce lien est valable jusqu'au " + until + ". Seul le lien le plus récent fonctionne : si vous avez fait plusieurs demandes, ne cliquez que sur le lien figurant dans le tout dernier e-mail reçu."
		}
		return "Ce lien est valable " + span(lang, d) + ", jusqu'au " + until + ". Seul le lien le plus récent fonctionne : si vous avez fait plusieurs demandes, ne cliquez que sur le lien figurant dans le tout dernier e-mail reçu."
	case it:
		if d <= 0 {
			return "Il link è valido fino al " + until + ". Funziona solo il link più recente: se hai effettuato più richieste, usa il link dell'ultima e-mail ricevuta."
		}
		return "Il link è valido " + span(lang, d) + ", fino al " + until + ". Funziona solo il link più recente: se hai effettuato più richieste, usa il link dell'ultima e-mail ricevuta."
	default:
		if d <= 0 {
			return "This link is valid until " + until + ". Only the most recent link works: if you made several requests, use the link in the last e-mail you received."
		}
		return "This link is valid for " + span(lang, d) + ", until " + until + ". Only the most recent link works: if you made several requests, use the link in the last e-mail you received."
	}
}

var hello = [languages]string{"Hello,", "Bonjour,", "Buongiorno,"}

func activationLetter(email, link string, issued, expires time.Time) letter {
	return letter{
		subject: [languages]string{"Activate your account", "Activation de votre compte", "Attivazione del tuo account"},
		body: [languages][]string{
			{hello[en],
				"An account was created for " + email + ". To confirm your e-mail address and activate the account, open this link:",
				link, validity(en, issued, expires),
				"If the link has expired, click \"Didn't receive confirmation instructions?\" on the login page to get a new one. If you did not expect this e-mail, you can ignore it."},
			{hello[fr],
				"Un compte a été créé pour " + email + ". Pour confirmer votre adresse e-mail et activer le compte, cliquez sur le lien de confirmation :",
				link, validity(fr, issued, expires),
				"Si le lien a expiré, cliquez sur « Vous n'avez pas reçu d'instructions de confirmation ? » dans l'espace de connexion pour en recevoir un nouveau. Si vous n'attendiez pas cet e-mail, vous pouvez l'ignorer."},
			{hello[it],
				"è stato creato un account per " + email + ". Per confermare il tuo indirizzo e-mail e attivare l'account, apri questo link:",
				link, validity(it, issued, expires),
				"Se il link è scaduto, richiedine uno nuovo dalla pagina di accesso. Se non ti aspettavi questa e-mail, puoi ignorarla."},
		},
	}
}

func resetLetter(email, link string, issued, expires time.Time) letter {
	return letter{
		subject: [languages]string{"Reset your password", "Réinitialisation de votre mot de passe", "Reimpostazione della password"},
		body: [languages][]string{
			{hello[en],
				"We received a request to reset the password of the account " + email + ". To choose a new password, open this link:",
				link, validity(en, issued, expires),
				"If the link has expired, click \"Forgot password\" on the login page again to get a new one. If you did not ask to reset your password, you can ignore this e-mail: your password has not been changed."},
			{hello[fr],
				"Nous avons reçu une demande de réinitialisation du mot de passe du compte " + email + ". Pour choisir un nouveau mot de passe, cliquez sur le lien de réinitialisation :",
				link, validity(fr, issued, expires),
				"Si le lien a expiré, cliquez de nouveau sur « Mot de passe oublié » dans la page de connexion pour en recevoir un nouveau. Si vous n'avez pas demandé de réinitialisation, vous pouvez ignorer cet e-mail : votre mot de passe n'a pas été modifié."},
			{hello[it],
				"abbiamo ricevuto una richiesta di reimpostazione della password per l'account " + email + ". Per scegliere una nuova password, apri questo link:",
				link, validity(it, issued, expires),
				"Se il link è scaduto, clicca di nuovo su \"Reimposta la password\" nella pagina di accesso per riceverne uno nuovo. Se non hai richiesto la reimpostazione, puoi ignorare questa e-mail: la tua password non è stata modificata."},
		},
	}
}

func unlockLetter(email, link string, issued, expires time.Time) letter {
	return letter{
		subject: [languages]string{"Unlock your account", "Déverrouillage de votre compte", "Sblocco del tuo account"},
		body: [languages][]string{
			{hello[en],
				"Your account " + email + " has been locked after too many login attempts with a wrong password. To unlock it, open this link:",
				link, validity(en, issued, expires),
				"You can then try to log in again. If you have forgotten your password, click \"Forgot password\" on the login page instead: resetting your password also unlocks the account. If these attempts were not yours, change your password."},
			{hello[fr],
				"Votre compte " + email + " a été verrouillé après trop de tentatives de connexion avec un mot de passe erroné. Pour le déverrouiller, cliquez sur le lien de déverrouillage :",
				link, validity(fr, issued, expires),
				"Vous pourrez ensuite tenter de nouveau de vous connecter. Si vous avez oublié votre mot de passe, cliquez plutôt sur « Mot de passe oublié » dans la page de connexion : la réinitialisation du mot de passe déverrouille aussi le compte. Si ces tentatives ne viennent pas de vous, modifiez votre mot de passe."},
			{hello[it],
				"il tuo account " + email + " è stato bloccato dopo troppi tentativi di accesso con una password errata. Per sbloccarlo, apri questo link:",
				link, validity(it, issued, expires),
				"Potrai poi accedere di nuovo. Se hai dimenticato la password, clicca invece su \"Reimposta la password\" nella pagina di accesso: la reimpostazione sblocca anche l'account. Se questi tentativi non sono stati fatti da te, cambia la password."},
		},
	}
}

// askColleague is the remedy of a disable only a colleague or support can lift (R5.1).
var askColleague = [languages]string{
	"To have it re-enabled, ask a colleague with user-management permission. If there is no such user, your property's primary contact must send a written request to our support team.",
	"Pour le faire réactiver, adressez-vous à un utilisateur disposant d'autorisations de Gestion des utilisateurs. S'il n'y a pas d'autres utilisateurs, le contact principal de votre établissement doit envoyer une demande écrite à notre équipe d'assistance.",
	"Per farlo riattivare, rivolgiti a un amministratore autorizzato alla gestione utenti. Se non esistono altri utenti, il contatto principale della struttura deve richiedere la riattivazione al nostro team di assistenza.",
}

func disabledLetter(email string, e domain.AccountDisabled) letter {
	var what [languages]string
	extra := [languages]string{}
	switch e.Kind {
	case domain.DisableManual:
		if e.Actor.Kind != domain.ActorAccount {
			what = [languages]string{
				"Your account " + email + " has been disabled manually by our support team.",
				"Votre compte " + email + " a été désactivé manuellement par notre équipe d'assistance.",
				"Il tuo account " + email + " è stato disabilitato manualmente dal nostro team di assistenza.",
			}
			break
		}
		what = [languages]string{
			"Your account " + email + " has been disabled manually by a user with user-management permission at your property. If this is a mistake, they can re-enable it.",
			"Votre compte " + email + " a été désactivé manuellement par un administrateur disposant d'autorisations de Gestion des utilisateurs de votre établissement. S'il a été désactivé par inadvertance, il pourra le réactiver pour vous.",
			"Il tuo account " + email + " è stato disabilitato manualmente da un amministratore autorizzato alla gestione utenti della tua struttura. Se è stato disabilitato involontariamente, potrà riattivarlo.",
		}
	case domain.DisableSuspiciousActivity:
		what = [languages]string{
			"To protect your account, " + email + " has been disabled automatically because unusual activity was detected. The primary contact of your property has been informed.",
			"Pour protéger votre compte, " + email + " a été automatiquement désactivé car une activité inhabituelle a été constatée. Le contact principal de votre établissement en a été informé.",
			"Per proteggere il tuo account, " + email + " è stato disabilitato automaticamente perché è stata rilevata un'attività sospetta. Il contatto principale della struttura è stato informato.",
		}
		extra = [languages]string{
			"Each member of staff needs their own account: shared logins are not allowed. Once the account is re-enabled, you will have to change your password.",
			"Chaque membre du personnel doit disposer de son propre compte : les identifiants partagés ne sont pas autorisés. Une fois le compte réactivé, vous devrez modifier votre mot de passe.",
			"Ogni membro del personale deve avere un proprio account: le credenziali condivise non sono consentite. Una volta riattivato l'account, dovrai cambiare la password.",
		}
	case domain.DisableInactivity:
		what = [languages]string{
			"Your account " + email + " has been disabled because it has not been used for a long time: inactive accounts are disabled, as the PCI DSS security standard requires.",
			"Votre compte " + email + " a été désactivé car il n'a pas été utilisé depuis longtemps : les comptes inactifs sont désactivés, conformément à la norme de sécurité PCI DSS.",
			"Il tuo account " + email + " è stato disabilitato perché non viene utilizzato da molto tempo: gli account inattivi vengono disabilitati, come richiede lo standard di sicurezza PCI DSS.",
		}
	default:
		what = [languages]string{
			"Your account " + email + " has been disabled.",
			"Votre compte " + email + " a été désactivé.",
			"Il tuo account " + email + " è stato disabilitato.",
		}
	}
	l := letter{subject: [languages]string{"Your account has been disabled", "Votre compte a été désactivé", "Il tuo account è stato disabilitato"}}
	for lang := range languages {
		l.body[lang] = []string{hello[lang], what[lang]}
		if extra[lang] != "" {
			l.body[lang] = append(l.body[lang], extra[lang])
		}
		l.body[lang] = append(l.body[lang], askColleague[lang])
	}
	return l
}

func enabledLetter(email string, mustChangePassword bool) letter {
	l := letter{subject: [languages]string{"Your account has been re-enabled", "Votre compte a été réactivé", "Il tuo account è stato riattivato"}}
	what := [languages]string{
		"Your account " + email + " has been re-enabled: you can log in again.",
		"Votre compte " + email + " a été réactivé : vous pouvez de nouveau vous connecter.",
		"Il tuo account " + email + " è stato riattivato: puoi accedere di nuovo.",
	}
	change := [languages]string{
		"For security reasons, you will have to change your password when you next log in.",
		"Pour des raisons de sécurité, vous devrez modifier votre mot de passe lors de votre prochaine connexion.",
		"Per motivi di sicurezza, al prossimo accesso dovrai cambiare la password.",
	}
	for lang := range languages {
		l.body[lang] = []string{hello[lang], what[lang]}
		if mustChangePassword {
			l.body[lang] = append(l.body[lang], change[lang])
		}
	}
	return l
}

func billingLetter(property string, invoices []string, asPrimaryContact bool) letter {
	n := len(invoices)
	ids := strings.Join(invoices, ", ")
	overdue := [languages]string{
		fmt.Sprintf("%d invoices are overdue: %s.", n, ids),
		fmt.Sprintf("pour %d factures impayées : %s.", n, ids),
		fmt.Sprintf("perché %d fatture risultano non pagate: %s.", n, ids),
	}
	if n == 1 {
		overdue = [languages]string{
			"an invoice is overdue: " + ids + ".",
			"pour une facture impayée : " + ids + ".",
			"perché una fattura risulta non pagata: " + ids + ".",
		}
	}
	why := [languages]string{
		"You receive this e-mail as a billing contact of " + property + ".",
		"Vous recevez cet e-mail en tant qu'utilisateur de facturation de l'établissement " + property + ".",
		"Ricevi questa e-mail come contatto di fatturazione della struttura " + property + ".",
	}
	if asPrimaryContact {
		why = [languages]string{
			"You receive this e-mail as the primary contact of " + property + ", which has no billing contact.",
			"Vous recevez cet e-mail en tant que contact principal de l'établissement " + property + ", qui n'a pas d'utilisateur de facturation.",
			"Ricevi questa e-mail come contatto principale della struttura " + property + ", che non ha contatti di fatturazione.",
		}
	}
	return letter{
		subject: [languages]string{"Did you forget to pay your invoice?", "Avez-vous oublié de payer votre facture ?", "Hai dimenticato di pagare la fattura?"},
		body: [languages][]string{
			{hello[en],
				"Access to " + property + " has been disabled because " + overdue[en],
				"Once these invoices are paid, access is restored. You can see the pending invoices and pay them in your self-service billing portal.",
				why[en]},
			{hello[fr],
				"L'accès de l'établissement " + property + " a été désactivé " + overdue[fr],
				"Une fois ces factures payées, l'accès est réactivé. Toutes les factures en attente de paiement sont consultables sur votre portail de facturation en libre-service.",
				why[fr]},
			{hello[it],
				"l'accesso per la struttura " + property + " è stato disabilitato " + overdue[it],
				"Dopo il pagamento, l'accesso verrà ripristinato. Controlla il portale di fatturazione self-service per verificare le fatture in sospeso ed effettuare i pagamenti.",
				why[it]},
		},
	}
}

func suspiciousLetter(property, email string, d domain.SuspiciousActivityDetected) letter {
	rule := [languages]string{"What was detected: " + d.Rule + ".", "Règle déclenchée : " + d.Rule + ".", "Regola attivata: " + d.Rule + "."}
	if d.Evidence.Detail != "" {
		for lang := range languages {
			rule[lang] += " " + d.Evidence.Detail
		}
	}
	var evidence [languages][]string
	if len(d.Evidence.Addresses) > 0 {
		a := strings.Join(d.Evidence.Addresses, ", ")
		evidence[en] = append(evidence[en], "addresses "+a)
		evidence[fr] = append(evidence[fr], "adresses "+a)
		evidence[it] = append(evidence[it], "indirizzi "+a)
	}
	if len(d.Evidence.Devices) > 0 {
		dv := strings.Join(d.Evidence.Devices, ", ")
		evidence[en] = append(evidence[en], "devices "+dv)
		evidence[fr] = append(evidence[fr], "appareils "+dv)
		evidence[it] = append(evidence[it], "dispositivi "+dv)
	}
	if !d.Evidence.WindowStart.IsZero() && !d.Evidence.WindowEnd.IsZero() {
		from, to := d.Evidence.WindowStart.UTC().Format("2006-01-02 15:04"), d.Evidence.WindowEnd.UTC().Format("2006-01-02 15:04 UTC")
		evidence[en] = append(evidence[en], "between "+from+" and "+to)
		evidence[fr] = append(evidence[fr], "entre "+from+" et "+to)
		evidence[it] = append(evidence[it], "tra "+from+" e "+to)
	}
	evidenceTitle := [languages]string{"Evidence: ", "Éléments constatés : ", "Elementi rilevati: "}
	l := letter{
		subject: [languages]string{"Unusual activity: an account has been disabled", "Activité suspecte : un compte a été désactivé", "Attività sospetta: un account è stato disabilitato"},
		body: [languages][]string{
			{hello[en], "You are the primary contact of " + property + ". Unusual activity was detected on the account " + email + ", which has therefore been disabled automatically to protect it.", rule[en]},
			{hello[fr], "Vous êtes le contact principal de l'établissement " + property + ". Une activité inhabituelle a été constatée sur le compte " + email + ", qui a donc été automatiquement désactivé pour le protéger.", rule[fr]},
			{hello[it], "sei il contatto principale della struttura " + property + ". È stata rilevata un'attività sospetta sull'account " + email + ", che è stato quindi disabilitato automaticamente per proteggerlo.", rule[it]},
		},
	}
	remedy := [languages]string{
		"Each member of staff needs their own account: shared logins are not allowed. A user with user-management permission can re-enable the account; its holder will then have to change the password. If there is no such user, send a written request to our support team.",
		"Chaque membre du personnel doit disposer de son propre compte : les identifiants partagés ne sont pas autorisés. Un utilisateur disposant d'autorisations de Gestion des utilisateurs peut réactiver le compte ; son titulaire devra ensuite modifier son mot de passe. S'il n'y a pas d'autres utilisateurs, envoyez une demande écrite à notre équipe d'assistance.",
		"Ogni membro del personale deve avere un proprio account: le credenziali condivise non sono consentite. Un amministratore autorizzato alla gestione utenti può riattivare l'account; il titolare dovrà poi cambiare la password. Se non esistono altri utenti, invia una richiesta scritta al nostro team di assistenza.",
	}
	for lang := range languages {
		if len(evidence[lang]) > 0 {
			sep := "; "
			if lang == fr {
				sep = " ; "
			}
			l.body[lang] = append(l.body[lang], evidenceTitle[lang]+strings.Join(evidence[lang], sep)+".")
		}
		l.body[lang] = append(l.body[lang], remedy[lang])
	}
	return l
}
