package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"accountd/domain"
	"accountd/projections"
)

// Account status: what the login flow asks before and after every sign-in. Read from the
// status projection, evaluated at the request's instant, so time rules (expiry, cooldowns)
// need no event to take effect.

func (a *API) accountStatus(x *exchange) error {
	var at time.Time
	if raw := x.r.URL.RawQuery; raw != "" {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return invalidRequest("malformed query string: %v", err)
		}
		if err := a.waitFor(x, q.Get("min_position")); err != nil {
			return err
		}
		if at, err = futureInstant(q, a.svc.Now()); err != nil {
			return err
		}
	}
	return a.writeStatusAt(x, x.pathVar("id"), at)
}

// futureInstant reads ?at=, the instant a status read looks ahead to (zero: now). A past
// instant is refused: the read model holds the account as it stands, and what it was is
// the security role's GET /v1/accounts/{id}/state.
func futureInstant(q url.Values, now time.Time) (time.Time, error) {
	at, err := parseInstant(q, "at")
	if err != nil || at.IsZero() {
		return at, err
	}
	if at.Before(now.Add(-time.Second)) {
		return at, badParam(CodeInvalidTime, "at", "at is in the past: a status read looks ahead; the state at a past instant is GET /v1/accounts/{id}/state")
	}
	return at, nil
}

func (a *API) accountStatusByEmail(x *exchange) error {
	q, err := url.ParseQuery(x.r.URL.RawQuery)
	if err != nil {
		return invalidRequest("malformed query string: %v", err)
	}
	email := strings.TrimSpace(q.Get("email"))
	if email == "" {
		return invalidRequest("query parameter email is required")
	}
	if err := a.waitFor(x, q.Get("min_position")); err != nil {
		return err
	}
	id, ok := a.status.AccountIDByEmail(email)
	if !ok {
		return accountNotFound()
	}
	at, err := futureInstant(q, a.svc.Now())
	if err != nil {
		return err
	}
	return a.writeStatusAt(x, id, at)
}

func accountNotFound() error {
	return &domain.Error{Code: domain.CodeAccountNotFound, Message: "account does not exist"}
}

// waitFor gives read-your-writes: a client passes the position a write answered with, and
// the read waits (bounded) until the projection has applied it.
func (a *API) waitFor(x *exchange, raw string) error {
	if raw == "" {
		return nil
	}
	n, err := strconv.ParseUint(raw, 10, 64)
	if err != nil {
		return invalidRequest("min_position must be a non-negative integer")
	}
	if a.runner.Position(projections.StatusName) >= n {
		return nil
	}
	ctx, cancel := context.WithTimeout(x.r.Context(), a.statusWait)
	defer cancel()
	return a.runner.WaitFor(ctx, projections.StatusName, n)
}

var statusBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

func (a *API) writeStatusAt(x *exchange, accountID string, at time.Time) error {
	var v projections.StatusView
	var ok bool
	if at.IsZero() {
		v, ok = a.status.AccountStatus(accountID, a.svc.Now(), a.svc.Policy())
	} else {
		v, ok = a.status.AccountStatusIfNothingHappens(accountID, at, a.svc.Policy())
	}
	if !ok {
		return accountNotFound()
	}
	langs := languages(x.r.Header.Get("Accept-Language"))
	bp := statusBufPool.Get().(*[]byte)
	b := appendStatus((*bp)[:0], &v, langs)
	x.writeJSON(http.StatusOK, b)
	if cap(b) <= 64<<10 {
		*bp = b
		statusBufPool.Put(bp)
	}
	return nil
}

// appendStatus encodes the status view by hand (see jsonenc.go). The text of each reason is
// the specific one: the status is read by trusted services, and stating the reason is its
// purpose; what an end user is shown at sign-in follows the disclosure policy (logins.go).
func appendStatus(b []byte, v *projections.StatusView, langs []string) []byte {
	st := &v.Status
	b = append(b, '{')
	b = appendKey(b, "account_id", true)
	b = appendString(b, v.AccountID)
	b = appendKey(b, "email", false)
	b = appendString(b, v.Email)
	b = appendKey(b, "status", false)
	b = appendString(b, st.Status)
	b = appendKey(b, "reasons", false)
	b = appendReasons(b, st.Reasons, langs)
	b = appendKey(b, "failed_attempts", false)
	b = appendInt(b, st.FailedAttempts)
	b = appendKey(b, "attempts_remaining", false)
	b = appendInt(b, st.AttemptsRemaining)
	b = appendKey(b, "password_changed_at", false)
	b = appendTime(b, v.PasswordChangedAt)
	b = appendKey(b, "password_expires_at", false)
	b = appendTime(b, v.PasswordExpiresAt)
	b = appendKey(b, "mfa", false)
	b = append(b, '{')
	b = appendKey(b, "enrolled", true)
	b = appendBool(b, v.MFAEnrolled)
	b = appendKey(b, "enrolment_due_by", false)
	b = appendTime(b, v.MFAEnrolmentDueBy)
	b = append(b, '}')
	b = appendKey(b, "properties", false)
	b = append(b, '[')
	for i := range st.Properties {
		p := &st.Properties[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		b = appendKey(b, "property_id", true)
		b = appendString(b, p.PropertyID)
		b = appendKey(b, "allowed", false)
		b = appendBool(b, p.Allowed)
		b = appendKey(b, "reasons", false)
		b = appendReasons(b, p.Reasons, langs)
		b = append(b, '}')
	}
	b = append(b, ']')
	b = appendKey(b, "position", false)
	b = strconv.AppendUint(b, v.Position, 10)
	return append(b, '}', '\n')
}

func appendReasons(b []byte, rs []domain.Reason, langs []string) []byte {
	b = append(b, '[')
	for i := range rs {
		r := &rs[i]
		if i > 0 {
			b = append(b, ',')
		}
		msg, fix := domain.Text(r.Code, langs, domain.DisclosureSpecific)
		b = append(b, '{')
		b = appendKey(b, "code", true)
		b = appendString(b, r.Code)
		b = appendKey(b, "since", false)
		b = appendTime(b, r.Since)
		if !r.Until.IsZero() {
			b = appendKey(b, "until", false)
			b = appendTime(b, r.Until)
		}
		b = appendKey(b, "message", false)
		b = appendString(b, msg)
		b = appendKey(b, "remediation", false)
		b = appendString(b, fix)
		b = appendKey(b, "remediation_code", false)
		b = appendString(b, r.Remediation)
		if r.PropertyID != "" {
			b = appendKey(b, "property_id", false)
			b = appendString(b, r.PropertyID)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}
