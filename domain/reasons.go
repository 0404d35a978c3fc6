package domain

// Stable reason codes: why an account may not log in, or why an attempt was refused.
const (
	ReasonInvalidCredentials         = "invalid_credentials"
	ReasonAccountLocked              = "account_locked"
	ReasonPasswordExpired            = "password_expired"
	ReasonDisabledSuspiciousActivity = "disabled_suspicious_activity"
	ReasonDisabledManually           = "disabled_manually"
	ReasonDisabledInactivity         = "disabled_inactivity"
	ReasonDisabledBilling            = "disabled_billing"
	ReasonPropertySuspended          = "property_suspended"
	ReasonPendingActivation          = "pending_activation"
	ReasonMFARequired                = "mfa_required"
	ReasonMFAInvalidCode             = "mfa_invalid_code"
	ReasonMFACooldown                = "mfa_cooldown"
	ReasonMFAEnrollmentRequired      = "mfa_enrollment_required"
	ReasonPasswordChangeRequired     = "password_change_required"
	ReasonAccountDeleted             = "account_deleted"
)

// Statuses of an account.
const (
	StatusActive            = "active"
	StatusPendingActivation = "pending_activation"
	StatusLocked            = "locked"
	StatusPasswordExpired   = "password_expired"
	StatusDisabled          = "disabled"
	StatusDeleted           = "deleted"
)

// Remediation codes: what fixes a reason. The login service can branch on them; people read
// the localised text.
const (
	FixNone             = ""
	FixCheckCredentials = "check_credentials"
	FixResetPassword    = "reset_password"
	FixUseUnlockLink    = "use_unlock_link"
	FixAskColleague     = "ask_user_management_colleague"
	FixContactSupport   = "contact_support"
	FixPayInvoice       = "pay_invoice"
	FixWait             = "wait"
	FixEnrolMFA         = "enrol_mfa"
	FixEnterMFACode     = "enter_mfa_code"
	FixActivate         = "use_activation_link"
	FixChangePassword   = "change_password"
	FixRecreateAccount  = "ask_colleague_to_recreate"
)

// ReasonInfo is the catalogue entry of a reason: the status it implies, its remediation,
// and the text in English, French and Italian (R8.1), worded after the seeds.
type ReasonInfo struct {
	Code        string
	Status      string // status the reason puts the account in ("" for attempt-only reasons)
	Remediation string
	Message     map[string]string
	Fix         map[string]string
	// Prompt marks a step the person must take after proving the password (enter a code,
	// enrol, change the password): generic disclosure cannot hide it, and it reveals nothing.
	Prompt bool
}

// Languages the catalogue speaks; the first is the fallback.
var Languages = []string{"en", "fr", "it"}

// GenericMessage is the one message shown for every refusal under generic disclosure (R8.2, OWASP).
var GenericMessage = map[string]string{
	"en": "Invalid e-mail or password.",
	"fr": "Adresse e-mail ou mot de passe invalide.",
	"it": "E-mail o password non validi.",
}

var catalogue = map[string]ReasonInfo{
	ReasonInvalidCredentials: {Remediation: FixCheckCredentials,
		Message: tr("Invalid e-mail or password.", "Adresse e-mail ou mot de passe invalide.", "E-mail o password non validi."),
		Fix: tr("Check your e-mail and password, or use \"Forgot password\" to reset it.",
			"Vérifiez votre e-mail et votre mot de passe, ou cliquez sur « Mot de passe oublié » pour le réinitialiser.",
			"Verifica e-mail e password, oppure usa \"Password dimenticata\" per reimpostarla.")},
	ReasonAccountLocked: {Status: StatusLocked, Remediation: FixUseUnlockLink,
		Message: tr("Your account is locked after too many wrong passwords.",
			"Votre compte est verrouillé après trop de mots de passe erronés.",
			"Il tuo account è bloccato dopo troppi tentativi con password errata."),
		Fix: tr("Use the unlock link we e-mailed you, ask for a new one (\"Didn't receive unlock instructions?\"), reset your password, or ask a colleague with user management.",
			"Utilisez le lien de déverrouillage reçu par e-mail, demandez-en un nouveau (« Vous n'avez pas reçu les instructions de déverrouillage ? »), réinitialisez votre mot de passe ou demandez à un collègue ayant la gestion des utilisateurs.",
			"Usa il link di sblocco ricevuto via e-mail, richiedine uno nuovo, reimposta la password oppure chiedi a un collega con la gestione utenti.")},
	ReasonPasswordExpired: {Status: StatusPasswordExpired, Remediation: FixResetPassword,
		Message: tr("Your password has expired: for security reasons it must be changed every 90 days.",
			"Votre mot de passe a expiré : pour des raisons de sécurité il doit être changé tous les 90 jours.",
			"La tua password è scaduta: per motivi di sicurezza deve essere cambiata ogni 90 giorni."),
		Fix: tr("Reset your password with \"Forgot password\".",
			"Réinitialisez votre mot de passe avec « Mot de passe oublié ».",
			"Reimposta la password con \"Password dimenticata\".")},
	ReasonDisabledSuspiciousActivity: {Status: StatusDisabled, Remediation: FixAskColleague,
		Message: tr("Sorry, we are unable to process your request: unusual activity was detected on this account.",
			"Désolé, nous ne pouvons pas traiter votre demande : une activité inhabituelle a été détectée sur ce compte.",
			"Spiacenti, non possiamo elaborare la richiesta: è stata rilevata un'attività insolita su questo account."),
		Fix: tr("Each staff member needs their own account. Ask your property's primary contact or a colleague with user management to re-enable it; you will then change your password.",
			"Chaque membre du personnel doit avoir son propre compte. Demandez au contact principal de l'établissement ou à un collègue ayant la gestion des utilisateurs de le réactiver ; vous devrez ensuite changer votre mot de passe.",
			"Ogni membro dello staff deve avere un proprio account. Chiedi al referente della struttura o a un collega con la gestione utenti di riattivarlo; dovrai poi cambiare la password.")},
	ReasonDisabledManually: {Status: StatusDisabled, Remediation: FixAskColleague,
		Message: tr("Your account has been disabled by your property.",
			"Votre compte a été désactivé par votre établissement.",
			"Il tuo account è stato disattivato dalla tua struttura."),
		Fix: tr("Ask a colleague with user management to re-enable it; if there is none, your primary contact writes to support.",
			"Demandez à un collègue ayant la gestion des utilisateurs de le réactiver ; à défaut, le contact principal écrit au support.",
			"Chiedi a un collega con la gestione utenti di riattivarlo; se non c'è, il referente scrive al supporto.")},
	ReasonDisabledInactivity: {Status: StatusDisabled, Remediation: FixAskColleague,
		Message: tr("Your account was disabled after 90 days without use.",
			"Votre compte a été désactivé après 90 jours sans utilisation.",
			"Il tuo account è stato disattivato dopo 90 giorni di inutilizzo."),
		Fix: tr("Ask a colleague with user management to re-enable it.",
			"Demandez à un collègue ayant la gestion des utilisateurs de le réactiver.",
			"Chiedi a un collega con la gestione utenti di riattivarlo.")},
	ReasonDisabledBilling: {Status: StatusDisabled, Remediation: FixPayInvoice,
		Message: tr("Did you forget to pay your invoice? Access is suspended while invoices are overdue.",
			"Avez-vous oublié de payer votre facture ? L'accès est suspendu tant que des factures sont impayées.",
			"Hai dimenticato di pagare la fattura? L'accesso è sospeso finché ci sono fatture scadute."),
		Fix: tr("Your property's billing contact can pay the overdue invoices in the billing portal; access returns once they are paid.",
			"Le contact de facturation de l'établissement peut régler les factures en retard depuis le portail de facturation ; l'accès revient après paiement.",
			"Il referente amministrativo della struttura può saldare le fatture scadute nel portale di fatturazione; l'accesso torna dopo il pagamento.")},
	ReasonPropertySuspended: {Status: StatusDisabled, Remediation: FixContactSupport,
		Message: tr("Access to your property is suspended.",
			"L'accès à votre établissement est suspendu.",
			"L'accesso alla tua struttura è sospeso."),
		Fix: tr("Your property's primary contact should contact support about the subscription.",
			"Le contact principal de votre établissement doit contacter le support au sujet de l'abonnement.",
			"Il referente della struttura deve contattare il supporto riguardo all'abbonamento.")},
	ReasonPendingActivation: {Status: StatusPendingActivation, Remediation: FixActivate,
		Message: tr("Your account is not confirmed yet.",
			"Votre compte n'est pas encore confirmé.",
			"Il tuo account non è ancora confermato."),
		Fix: tr("Click the link in the confirmation e-mail (check your spam), or ask for a new one (\"Didn't receive confirmation instructions?\").",
			"Cliquez sur le lien de l'e-mail de confirmation (vérifiez vos spams) ou demandez-en un nouveau (« Vous n'avez pas reçu d'instruction de confirmation ? »).",
			"Clicca il link nell'e-mail di conferma (controlla lo spam) oppure richiedine uno nuovo.")},
	ReasonMFARequired: {Prompt: true, Remediation: FixEnterMFACode,
		Message: tr("Enter the six-digit code from your authenticator app.",
			"Saisissez le code à six chiffres de votre application d'authentification.",
			"Inserisci il codice a sei cifre della tua app di autenticazione."),
		Fix: tr("Open your authenticator app and enter the current code.",
			"Ouvrez votre application d'authentification et saisissez le code affiché.",
			"Apri l'app di autenticazione e inserisci il codice attuale.")},
	ReasonMFAInvalidCode: {Prompt: true, Remediation: FixEnterMFACode,
		Message: tr("Authentication failed: the code is not valid.",
			"Échec de l'authentification : le code n'est pas valide.",
			"Autenticazione non riuscita: il codice non è valido."),
		Fix: tr("Enter the latest code; check that your device's clock is right.",
			"Saisissez le dernier code ; vérifiez que l'horloge de votre appareil est à l'heure.",
			"Inserisci l'ultimo codice; verifica che l'orologio del dispositivo sia corretto.")},
	ReasonMFACooldown: {Prompt: true, Remediation: FixWait,
		Message: tr("Authentication failed, maximum attempts exceeded.",
			"Échec de l'authentification, nombre maximal de tentatives dépassé.",
			"Autenticazione non riuscita, numero massimo di tentativi superato."),
		Fix: tr("Wait for the countdown to end, then try again.",
			"Attendez la fin du compte à rebours, puis réessayez.",
			"Attendi la fine del conto alla rovescia, poi riprova.")},
	ReasonMFAEnrollmentRequired: {Prompt: true, Remediation: FixEnrolMFA,
		Message: tr("Two-factor authentication must be set up to continue.",
			"L'authentification à deux facteurs doit être configurée pour continuer.",
			"Per continuare è necessario configurare l'autenticazione a due fattori."),
		Fix: tr("Scan the QR code with an authenticator app and enter the code it shows.",
			"Scannez le QR code avec une application d'authentification et saisissez le code affiché.",
			"Scansiona il codice QR con un'app di autenticazione e inserisci il codice mostrato.")},
	ReasonPasswordChangeRequired: {Prompt: true, Remediation: FixChangePassword,
		Message: tr("You must change your password before continuing.",
			"Vous devez changer votre mot de passe avant de continuer.",
			"Devi cambiare la password prima di continuare."),
		Fix: tr("Choose a new password: at least 12 characters, not too common, different from your e-mail and your last passwords.",
			"Choisissez un nouveau mot de passe : 12 caractères minimum, pas trop commun, différent de votre e-mail et de vos derniers mots de passe.",
			"Scegli una nuova password: almeno 12 caratteri, non troppo comune, diversa dalla tua e-mail e dalle ultime password.")},
	ReasonAccountDeleted: {Status: StatusDeleted, Remediation: FixRecreateAccount,
		Message: tr("This account has been deleted.",
			"Ce compte a été supprimé.",
			"Questo account è stato eliminato."),
		Fix: tr("Ask a colleague with user management to create it again with the same e-mail: your previous account comes back.",
			"Demandez à un collègue ayant la gestion des utilisateurs de le recréer avec le même e-mail : votre compte précédent sera restauré.",
			"Chiedi a un collega con la gestione utenti di ricrearlo con la stessa e-mail: il tuo account precedente verrà ripristinato.")},
}

func init() {
	for code, info := range catalogue {
		info.Code = code
		catalogue[code] = info
	}
}

func tr(en, fr, it string) map[string]string { return map[string]string{"en": en, "fr": fr, "it": it} }

// LookupReason returns the catalogue entry of a reason code.
func LookupReason(code string) (ReasonInfo, bool) {
	info, ok := catalogue[code]
	return info, ok
}

// ReasonCodes lists every reason code the engine can give.
func ReasonCodes() []string {
	out := make([]string, 0, len(catalogue))
	for code := range catalogue {
		out = append(out, code)
	}
	return out
}

// Text returns the message and remediation of a reason in the first language of langs the
// catalogue speaks (English otherwise). Under generic disclosure the message is the single
// generic one and the remediation is withheld, so a refusal reveals nothing about the account;
// prompts keep their text.
func Text(code string, langs []string, disclosure Disclosure) (message, remediation string) {
	lang := "en"
	for _, l := range langs {
		if _, ok := GenericMessage[l]; ok {
			lang = l
			break
		}
	}
	info, ok := catalogue[code]
	if disclosure == DisclosureGeneric && !info.Prompt {
		return GenericMessage[lang], ""
	}
	if !ok {
		return GenericMessage[lang], ""
	}
	return info.Message[lang], info.Fix[lang]
}
