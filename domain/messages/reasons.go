package messages

import "accountd/domain"

// The words of each reason (domain/reasons.go holds the codes and what each implies),
// worded after the seeds.

type reasonText struct {
	message, fix texts
}

var reasons = map[string]reasonText{
	domain.ReasonAccountDeleted: {
		message: texts{"This account has been deleted.",
			"Ce compte a été supprimé.",
			"Questo account è stato eliminato."},
		fix: texts{"Ask a colleague with user management to create it again with the same e-mail: your previous account comes back.",
			"Demandez à un collègue ayant la gestion des utilisateurs de le recréer avec le même e-mail : votre compte précédent sera restauré.",
			"Chiedi a un collega con la gestione utenti di ricrearlo con la stessa e-mail: il tuo account precedente verrà ripristinato."}},
	domain.ReasonAccountLocked: {
		message: texts{"Your account is locked after too many wrong passwords.",
			"Votre compte est verrouillé après trop de mots de passe erronés.",
			"Il tuo account è bloccato dopo troppi tentativi con password errata."},
		fix: texts{"Use the unlock link we e-mailed you, ask for a new one (\"Didn't receive unlock instructions?\"), reset your password, or ask a colleague with user management.",
			"Utilisez le lien de déverrouillage reçu par e-mail, demandez-en un nouveau (« Vous n'avez pas reçu les instructions de déverrouillage ? »), réinitialisez votre mot de passe ou demandez à un collègue ayant la gestion des utilisateurs.",
			"Usa il link di sblocco ricevuto via e-mail, richiedine uno nuovo, reimposta la password oppure chiedi a un collega con la gestione utenti."}},
	domain.ReasonDisabledBilling: {
		message: texts{"Did you forget to pay your invoice? Access is suspended while invoices are overdue.",
			"Avez-vous oublié de payer votre facture ? L'accès est suspendu tant que des factures sont impayées.",
			"Hai dimenticato di pagare la fattura? L'accesso è sospeso finché ci sono fatture scadute."},
		fix: texts{"Your property's billing contact can pay the overdue invoices in the billing portal; access returns once they are paid.",
			"Le contact de facturation de l'établissement peut régler les factures en retard depuis le portail de facturation ; l'accès revient après paiement.",
			"Il referente amministrativo della struttura può saldare le fatture scadute nel portale di fatturazione; l'accesso torna dopo il pagamento."}},
	domain.ReasonDisabledInactivity: {
		message: texts{"Your account was disabled after 90 days without use.",
			"Votre compte a été désactivé après 90 jours sans utilisation.",
			"Il tuo account è stato disattivato dopo 90 giorni di inutilizzo."},
		fix: texts{"Ask a colleague with user management to re-enable it.",
			"Demandez à un collègue ayant la gestion des utilisateurs de le réactiver.",
			"Chiedi a un collega con la gestione utenti di riattivarlo."}},
	domain.ReasonDisabledManually: {
		message: texts{"Your account has been disabled by your property.",
			"Votre compte a été désactivé par votre établissement.",
			"Il tuo account è stato disattivato dalla tua struttura."},
		fix: texts{"Ask a colleague with user management to re-enable it; if there is none, your primary contact writes to support.",
			"Demandez à un collègue ayant la gestion des utilisateurs de le réactiver ; à défaut, le contact principal écrit au support.",
			"Chiedi a un collega con la gestione utenti di riattivarlo; se non c'è, il referente scrive al supporto."}},
	domain.ReasonDisabledSuspiciousActivity: {
		message: texts{"Sorry, we are unable to process your request: unusual activity was detected on this account.",
			"Désolé, nous ne pouvons pas traiter votre demande : une activité inhabituelle a été détectée sur ce compte.",
			"Spiacenti, non possiamo elaborare la richiesta: è stata rilevata un'attività insolita su questo account."},
		fix: texts{"Each staff member needs their own account. Ask your property's primary contact or a colleague with user management to re-enable it; you will then change your password.",
			"Chaque membre du personnel doit avoir son propre compte. Demandez au contact principal de l'établissement ou à un collègue ayant la gestion des utilisateurs de le réactiver ; vous devrez ensuite changer votre mot de passe.",
			"Ogni membro dello staff deve avere un proprio account. Chiedi al referente della struttura o a un collega con la gestione utenti di riattivarlo; dovrai poi cambiare la password."}},
	domain.ReasonInvalidCredentials: {
		message: texts{"Invalid e-mail or password.",
			"Adresse e-mail ou mot de passe invalide.",
			"E-mail o password non validi."},
		fix: texts{"Check your e-mail and password, or use \"Forgot password\" to reset it.",
			"Vérifiez votre e-mail et votre mot de passe, ou cliquez sur « Mot de passe oublié » pour le réinitialiser.",
			"Verifica e-mail e password, oppure usa \"Password dimenticata\" per reimpostarla."}},
	domain.ReasonMFACooldown: {
		message: texts{"Authentication failed, maximum attempts exceeded.",
			"Échec de l'authentification, nombre maximal de tentatives dépassé.",
			"Autenticazione non riuscita, numero massimo di tentativi superato."},
		fix: texts{"Wait for the countdown to end, then try again.",
			"Attendez la fin du compte à rebours, puis réessayez.",
			"Attendi la fine del conto alla rovescia, poi riprova."}},
	domain.ReasonMFAEnrollmentRequired: {
		message: texts{"Two-factor authentication must be set up to continue.",
			"L'authentification à deux facteurs doit être configurée pour continuer.",
			"Per continuare è necessario configurare l'autenticazione a due fattori."},
		fix: texts{"Scan the QR code with an authenticator app and enter the code it shows.",
			"Scannez le QR code avec une application d'authentification et saisissez le code affiché.",
			"Scansiona il codice QR con un'app di autenticazione e inserisci il codice mostrato."}},
	domain.ReasonMFAInvalidCode: {
		message: texts{"Authentication failed: the code is not valid.",
			"Échec de l'authentification : le code n'est pas valide.",
			"Autenticazione non riuscita: il codice non è valido."},
		fix: texts{"Enter the latest code; check that your device's clock is right.",
			"Saisissez le dernier code ; vérifiez que l'horloge de votre appareil est à l'heure.",
			"Inserisci l'ultimo codice; verifica che l'orologio del dispositivo sia corretto."}},
	domain.ReasonMFARequired: {
		message: texts{"Enter the six-digit code from your authenticator app.",
			"Saisissez le code à six chiffres de votre application d'authentification.",
			"Inserisci il codice a sei cifre della tua app di autenticazione."},
		fix: texts{"Open your authenticator app and enter the current code.",
			"Ouvrez votre application d'authentification et saisissez le code affiché.",
			"Apri l'app di autenticazione e inserisci il codice attuale."}},
	domain.ReasonPasswordChangeRequired: {
		message: texts{"You must change your password before continuing.",
			"Vous devez changer votre mot de passe avant de continuer.",
			"Devi cambiare la password prima di continuare."},
		fix: texts{"Choose a new password: at least 12 characters, not too common, different from your e-mail and your last passwords.",
			"Choisissez un nouveau mot de passe : 12 caractères minimum, pas trop commun, différent de votre e-mail et de vos derniers mots de passe.",
			"Scegli una nuova password: almeno 12 caratteri, non troppo comune, diversa dalla tua e-mail e dalle ultime password."}},
	domain.ReasonPasswordExpired: {
		message: texts{"Your password has expired: for security reasons it must be changed every 90 days.",
			"Votre mot de passe a expiré : pour des raisons de sécurité il doit être changé tous les 90 jours.",
			"La tua password è scaduta: per motivi di sicurezza deve essere cambiata ogni 90 giorni."},
		fix: texts{"Reset your password with \"Forgot password\".",
			"Réinitialisez votre mot de passe avec « Mot de passe oublié ».",
			"Reimposta la password con \"Password dimenticata\"."}},
	domain.ReasonPendingActivation: {
		message: texts{"Your account is not confirmed yet.",
			"Votre compte n'est pas encore confirmé.",
			"Il tuo account non è ancora confermato."},
		fix: texts{"Click the link in the confirmation e-mail (check your spam), or ask for a new one (\"Didn't receive confirmation instructions?\").",
			"Cliquez sur le lien de l'e-mail de confirmation (vérifiez vos spams) ou demandez-en un nouveau (« Vous n'avez pas reçu d'instruction de confirmation ? »).",
			"Clicca il link nell'e-mail di conferma (controlla lo spam) oppure richiedine uno nuovo."}},
	domain.ReasonPropertySuspended: {
		message: texts{"Access to your property is suspended.",
			"L'accès à votre établissement est suspendu.",
			"L'accesso alla tua struttura è sospeso."},
		fix: texts{"Your property's primary contact should contact support about the subscription.",
			"Le contact principal de votre établissement doit contacter le support au sujet de l'abonnement.",
			"Il referente della struttura deve contattare il supporto riguardo all'abbonamento."}},
}

// genericMessage is the one message shown for every refusal under generic disclosure
// (R8.2, OWASP).
var genericMessage = texts{
	"Invalid e-mail or password.",
	"Adresse e-mail ou mot de passe invalide.",
	"E-mail o password non validi.",
}

// lastAttemptWarning is what the login flow may show when one attempt is left before the
// lock (R1.2, seed 004).
var lastAttemptWarning = texts{
	"You have one more try before your account is locked.",
	"Il vous reste un essai avant que votre compte ne soit verrouillé.",
	"Hai ancora un tentativo prima che il tuo account venga bloccato.",
}

// Reason returns the message and remediation of a reason code in lang. Under generic
// disclosure the message is the single generic one and the remediation is withheld, so a
// refusal reveals nothing about the account; prompts (enter a code, enrol, change the
// password) keep their text. An unknown code reads as the generic message.
func Reason(code string, lang Lang, disclosure domain.Disclosure) (message, remediation string) {
	t, ok := reasons[code]
	if !ok || disclosure == domain.DisclosureGeneric && !domain.IsPrompt(code) {
		return genericMessage[lang], ""
	}
	return t.message[lang], t.fix[lang]
}

// LastAttemptWarning is the warning that one attempt is left before the lock.
func LastAttemptWarning(lang Lang) string { return lastAttemptWarning[lang] }
