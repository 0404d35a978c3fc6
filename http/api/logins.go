package api

import (
	"math"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"accountd/commands"
	"accountd/domain"
	"accountd/domain/messages"
)

// Sign-in. The decision is made on the account aggregate (commands.Service.Login); this
// handler adds what the person is told, in their language and under the disclosure policy.

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	TOTPCode string `json:"totp_code"`
	originFields
}

// originFields say where an attempt came from (PCI 10.2.2): the end user's address as the
// login service saw it, its user agent and device.
type originFields struct {
	IP        string `json:"ip"`
	UserAgent string `json:"user_agent"`
	DeviceID  string `json:"device_id"`
}

// origin checks the address when one is given; a login requires it (see login).
func (f originFields) origin() (domain.Origin, error) {
	ip := strings.TrimSpace(f.IP)
	if ip != "" {
		if _, err := netip.ParseAddr(ip); err != nil {
			return domain.Origin{}, invalidRequest("field %q must be an IPv4 or IPv6 address", "ip")
		}
	}
	return domain.Origin{IP: ip, UserAgent: f.UserAgent, DeviceID: f.DeviceID}, nil
}

type loginResponse struct {
	Decision          string   `json:"decision"`
	Reason            string   `json:"reason"`
	Reasons           []string `json:"reasons"`
	AttemptsRemaining int      `json:"attempts_remaining"`
	RetryAfterSeconds int      `json:"retry_after_seconds"`
	// AccountID is given once the password is proven, so the login service can continue
	// the flow (enrol MFA, change the password) without another lookup.
	AccountID        string    `json:"account_id,omitempty"`
	SessionID        string    `json:"session_id,omitempty"`
	SessionExpiresAt time.Time `json:"session_expires_at,omitzero"`
	Message          string    `json:"message"`
	Remediation      string    `json:"remediation"`
	Warning          string    `json:"warning,omitempty"`
	Position         uint64    `json:"position"`
}

func (a *API) login(x *exchange) error {
	var req loginRequest
	var origin domain.Origin
	m, err := x.command(&req, func() (err error) {
		if req.Password == "" {
			return invalidRequest("field %q is required", "password")
		}
		if err := required("email", req.Email, "ip", req.IP); err != nil {
			return err
		}
		if origin, err = req.origin(); err != nil {
			return err
		}
		return a.checkThrottle(x, origin.IP)
	})
	if err != nil {
		return err
	}
	res, err := a.svc.Login(x.r.Context(), m, commands.LoginAttempt{Email: req.Email, Password: req.Password, TOTPCode: req.TOTPCode, Origin: origin})
	if err != nil {
		return err
	}
	a.metrics.login(res.Decision, res.Reason)
	return x.json(http.StatusOK, a.describeLogin(res, x.lang()))
}

// describeLogin words the outcome. Under generic disclosure every refusal reads the same
// and the last-attempt warning is withheld, as it would tell a known address from an
// unknown one; prompts (enter a code, enrol, change the password) reveal nothing and stay.
func (a *API) describeLogin(res commands.LoginResult, lang messages.Lang) loginResponse {
	o := res.LoginOutcome
	disclosure := a.svc.Policy().Disclosure
	out := loginResponse{
		Decision: o.Decision, Reason: o.Reason, Reasons: o.Reasons, AttemptsRemaining: o.AttemptsRemaining,
		RetryAfterSeconds: int(math.Ceil(o.RetryAfter.Seconds())),
		SessionID:         o.SessionID, SessionExpiresAt: o.SessionExpiresAt, Position: res.LastPosition(),
	}
	if out.Reasons == nil {
		out.Reasons = []string{}
	}
	if o.Decision != domain.DecisionDenied {
		out.AccountID = res.AccountID
	}
	if o.Reason != "" {
		out.Message, out.Remediation = messages.Reason(o.Reason, lang, disclosure)
	}
	if o.LastAttemptWarning && disclosure != domain.DisclosureGeneric {
		out.Warning = messages.LastAttemptWarning(lang)
	}
	return out
}
