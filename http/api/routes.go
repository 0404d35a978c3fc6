package api

import (
	"net/http"

	"github.com/gorilla/mux"
)

var (
	loginService = []Role{RoleLoginService}
	statusReader = []Role{RoleLoginService, RoleSecurity, RoleAdmin}
	registrar    = []Role{RoleAdmin, RoleLoginService}
	adminOnly    = []Role{RoleAdmin}
)

// RegisterHealthRoutes registers the probes, the API description and the metrics, which
// need no token.
func (a *API) RegisterHealthRoutes(r *mux.Router) {
	a.handle(r, false, http.MethodGet, "/healthz", "healthz", nil, a.healthz)
	a.handle(r, false, http.MethodGet, "/readyz", "readyz", nil, a.readyz)
	a.registerPlainRoutes(r)
}

// RegisterPublicRoutes registers what the login service drives on behalf of end users:
// registration, sign-in, e-mailed links, password and MFA self-service, and the status reads.
func (a *API) RegisterPublicRoutes(r *mux.Router) {
	a.handle(r, false, http.MethodPost, "/v1/accounts", "accounts.create", registrar, a.register)
	a.handle(r, false, http.MethodGet, "/v1/accounts/status", "accounts.status_by_email", statusReader, a.accountStatusByEmail)
	a.handle(r, false, http.MethodGet, "/v1/accounts/{id}/status", "accounts.status", statusReader, a.accountStatus)
	a.handle(r, false, http.MethodPost, "/v1/activations", "activations.create", loginService, a.activate)
	a.handle(r, false, http.MethodPost, "/v1/accounts/{id}/activation-links", "accounts.activation_links", registrar, a.resendActivation)
	a.handle(r, false, http.MethodPost, "/v1/logins", "logins.create", loginService, a.login)
	a.handle(r, false, http.MethodPost, "/v1/password-reset-requests", "password_reset_requests.create", loginService, a.requestPasswordReset)
	a.handle(r, false, http.MethodPost, "/v1/password-resets", "password_resets.create", loginService, a.resetPassword)
	a.handle(r, false, http.MethodPost, "/v1/unlock-link-requests", "unlock_link_requests.create", loginService, a.requestUnlockLink)
	a.handle(r, false, http.MethodPost, "/v1/unlocks", "unlocks.create", loginService, a.unlockWithLink)
	a.handle(r, false, http.MethodPost, "/v1/activation-link-requests", "activation_link_requests.create", loginService, a.requestActivationLink)
	a.handle(r, false, http.MethodPost, "/v1/accounts/{id}/password", "accounts.password", loginService, a.changePassword)
	a.handle(r, false, http.MethodPost, "/v1/accounts/{id}/mfa/enrolment", "mfa.enrolment", loginService, a.startMFAEnrolment)
	a.handle(r, false, http.MethodPost, "/v1/accounts/{id}/mfa/enrolment/confirm", "mfa.enrolment_confirm", loginService, a.confirmMFAEnrolment)
	a.handle(r, false, http.MethodPost, "/v1/accounts/{id}/mfa/deferral", "mfa.deferral", loginService, a.deferMFAEnrolment)
	a.handle(r, false, http.MethodPost, "/v1/accounts/{id}/mfa/reset", "mfa.reset", loginService, a.resetOwnMFA)
	a.handle(r, false, http.MethodGet, "/v1/sessions/{id}", "sessions.check", loginService, a.checkSession)
}

// RegisterAdminRoutes registers the administration of properties and of other people's
// accounts. Each command names its actor, whose permission the domain checks (R5.1).
func (a *API) RegisterAdminRoutes(r *mux.Router) {
	a.handle(r, true, http.MethodPost, "/v1/properties", "properties.create", adminOnly, a.createProperty)
	a.handle(r, true, http.MethodPost, "/v1/properties/{id}/members", "properties.members", adminOnly, a.addMember)
	a.handle(r, true, http.MethodPost, "/v1/properties/{id}/user-managers", "properties.user_managers", adminOnly, a.grantUserManagement)
	a.handle(r, true, http.MethodGet, "/v1/properties/{id}", "properties.get", adminOnly, a.getProperty)
	a.handle(r, true, http.MethodDelete, "/v1/properties/{id}/members/{account_id}", "properties.members_remove", adminOnly, a.removeMember)
	a.handle(r, true, http.MethodDelete, "/v1/properties/{id}/user-managers/{account_id}", "properties.user_managers_revoke", adminOnly, a.revokeUserManagement)
	a.handle(r, true, http.MethodPost, "/v1/properties/{id}/billing-contacts", "properties.billing_contacts", adminOnly, a.addBillingContact)
	a.handle(r, true, http.MethodPost, "/v1/properties/{id}/subscription", "properties.subscription", adminOnly, a.changeSubscription)
	a.handle(r, true, http.MethodPost, "/v1/properties/{id}/invoices/{invoice_id}/overdue", "properties.invoice_overdue", adminOnly, a.invoiceOverdue)
	a.handle(r, true, http.MethodPost, "/v1/properties/{id}/invoices/{invoice_id}/paid", "properties.invoice_paid", adminOnly, a.invoicePaid)
	a.handle(r, true, http.MethodPost, "/v1/accounts/{id}/unlock", "admin.unlock", adminOnly, a.adminUnlock)
	a.handle(r, true, http.MethodPost, "/v1/accounts/{id}/disable", "admin.disable", adminOnly, a.adminDisable)
	a.handle(r, true, http.MethodPost, "/v1/accounts/{id}/enable", "admin.enable", adminOnly, a.adminEnable)
	a.handle(r, true, http.MethodDelete, "/v1/accounts/{id}", "admin.delete", adminOnly, a.adminDelete)
	a.handle(r, true, http.MethodPost, "/v1/admin/accounts/{id}/mfa/reset", "admin.mfa_reset", adminOnly, a.adminResetMFA)
}
