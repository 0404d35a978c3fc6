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
	a.handle(r, route{method: http.MethodGet, path: "/healthz", name: "healthz"}, a.healthz)
	a.handle(r, route{method: http.MethodGet, path: "/readyz", name: "readyz"}, a.readyz)
	a.registerPlainRoutes(r)
}

// RegisterPublicRoutes registers what the login service drives on behalf of end users:
// registration, sign-in, e-mailed links, password and MFA self-service, and the status reads.
func (a *API) RegisterPublicRoutes(r *mux.Router) {
	a.handle(r, route{method: http.MethodPost, path: "/v1/accounts", name: "accounts.create", roles: registrar}, a.register)
	a.handle(r, route{method: http.MethodGet, path: "/v1/accounts/status", name: "accounts.status_by_email", roles: statusReader}, a.accountStatusByEmail)
	a.handle(r, route{method: http.MethodGet, path: "/v1/accounts/{id}/status", name: "accounts.status", roles: statusReader, fastStatus: true}, a.accountStatus)
	a.handle(r, route{method: http.MethodPost, path: "/v1/activations", name: "activations.create", roles: loginService}, a.activate)
	a.handle(r, route{method: http.MethodPost, path: "/v1/accounts/{id}/activation-links", name: "accounts.activation_links", roles: registrar, optionalBody: true}, a.resendActivation)
	a.handle(r, route{method: http.MethodPost, path: "/v1/logins", name: "logins.create", roles: loginService}, a.login)
	a.handle(r, route{method: http.MethodPost, path: "/v1/password-reset-requests", name: "password_reset_requests.create", roles: loginService}, a.requestPasswordReset)
	a.handle(r, route{method: http.MethodPost, path: "/v1/password-resets", name: "password_resets.create", roles: loginService}, a.resetPassword)
	a.handle(r, route{method: http.MethodPost, path: "/v1/unlock-link-requests", name: "unlock_link_requests.create", roles: loginService}, a.requestUnlockLink)
	a.handle(r, route{method: http.MethodPost, path: "/v1/unlocks", name: "unlocks.create", roles: loginService}, a.unlockWithLink)
	a.handle(r, route{method: http.MethodPost, path: "/v1/accounts/{id}/password", name: "accounts.password", roles: loginService}, a.changePassword)
	a.handle(r, route{method: http.MethodPost, path: "/v1/accounts/{id}/mfa/enrolment", name: "mfa.enrolment", roles: loginService, optionalBody: true}, a.startMFAEnrolment)
	a.handle(r, route{method: http.MethodPost, path: "/v1/accounts/{id}/mfa/enrolment/confirm", name: "mfa.enrolment_confirm", roles: loginService}, a.confirmMFAEnrolment)
	a.handle(r, route{method: http.MethodPost, path: "/v1/accounts/{id}/mfa/deferral", name: "mfa.deferral", roles: loginService, optionalBody: true}, a.deferMFAEnrolment)
	a.handle(r, route{method: http.MethodPost, path: "/v1/accounts/{id}/mfa/reset", name: "mfa.reset", roles: loginService}, a.resetOwnMFA)
	a.handle(r, route{method: http.MethodGet, path: "/v1/sessions/{id}", name: "sessions.check", roles: loginService, secretPath: true}, a.checkSession)
	a.handle(r, route{method: http.MethodDelete, path: "/v1/sessions/{id}", name: "sessions.end", roles: loginService, secretPath: true}, a.endSession)
	a.handle(r, route{method: http.MethodPost, path: "/v1/activation-link-requests", name: "activation_link_requests.create", roles: loginService}, a.requestActivationLink)
}

// RegisterAdminRoutes registers the administration of properties and of other people's
// accounts. Each command names its actor, whose permission the domain checks (R5.1).
func (a *API) RegisterAdminRoutes(r *mux.Router) {
	a.handle(r, route{method: http.MethodPost, path: "/v1/properties", name: "properties.create", roles: adminOnly}, a.createProperty)
	a.handle(r, route{method: http.MethodPost, path: "/v1/properties/{id}/members", name: "properties.members", roles: adminOnly}, a.addMember)
	a.handle(r, route{method: http.MethodPost, path: "/v1/properties/{id}/user-managers", name: "properties.user_managers", roles: adminOnly}, a.grantUserManagement)
	a.handle(r, route{method: http.MethodGet, path: "/v1/properties/{id}", name: "properties.get", roles: adminOnly}, a.getProperty)
	a.handle(r, route{method: http.MethodGet, path: "/v1/properties", name: "properties.find", roles: adminOnly}, a.findProperties)
	a.handle(r, route{method: http.MethodGet, path: "/v1/properties/{id}/members", name: "properties.members_list", roles: adminOnly}, a.listMembers)
	a.handle(r, route{method: http.MethodDelete, path: "/v1/properties/{id}/members/{account_id}", name: "properties.members_remove", roles: adminOnly}, a.removeMember)
	a.handle(r, route{method: http.MethodDelete, path: "/v1/properties/{id}/user-managers/{account_id}", name: "properties.user_managers_revoke", roles: adminOnly}, a.revokeUserManagement)
	a.handle(r, route{method: http.MethodPost, path: "/v1/properties/{id}/billing-contacts", name: "properties.billing_contacts", roles: adminOnly}, a.addBillingContact)
	a.handle(r, route{method: http.MethodPost, path: "/v1/properties/{id}/subscription", name: "properties.subscription", roles: adminOnly}, a.changeSubscription)
	a.handle(r, route{method: http.MethodPost, path: "/v1/properties/{id}/invoices/{invoice_id}/overdue", name: "properties.invoice_overdue", roles: adminOnly, optionalBody: true}, a.invoiceOverdue)
	a.handle(r, route{method: http.MethodPost, path: "/v1/properties/{id}/invoices/{invoice_id}/paid", name: "properties.invoice_paid", roles: adminOnly, optionalBody: true}, a.invoicePaid)
	a.handle(r, route{method: http.MethodPost, path: "/v1/accounts/{id}/unlock", name: "admin.unlock", roles: adminOnly}, a.adminUnlock)
	a.handle(r, route{method: http.MethodPost, path: "/v1/accounts/{id}/disable", name: "admin.disable", roles: adminOnly}, a.adminDisable)
	a.handle(r, route{method: http.MethodPost, path: "/v1/accounts/{id}/enable", name: "admin.enable", roles: adminOnly}, a.adminEnable)
	a.handle(r, route{method: http.MethodDelete, path: "/v1/accounts/{id}", name: "admin.delete", roles: adminOnly, optionalBody: true}, a.adminDelete)
	a.handle(r, route{method: http.MethodPost, path: "/v1/accounts/{id}/erasure", name: "admin.erase", roles: adminOnly}, a.adminErase)
	a.handle(r, route{method: http.MethodPost, path: "/v1/admin/accounts/{id}/mfa/reset", name: "admin.mfa_reset", roles: adminOnly}, a.adminResetMFA)
}
