package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"accountd/commands"
	"accountd/domain"
	"accountd/projections/history"
	"accountd/projections/timeline"
)

// Security endpoints (R3.3, PCI 10.2): the detection timeline, an account's history and its
// state at an instant, and what-if replays of a candidate policy. All are reads for the
// security role; the address throttle (credential stuffing) is checked on the login path.

// Codes of the security endpoints. Stable: clients branch on them.
const (
	CodeTooManyAttempts domain.Code = "too_many_attempts"
	CodeInvalidCursor   domain.Code = "invalid_cursor"
	CodeInvalidTime     domain.Code = "invalid_time"
	CodeInvalidLimit    domain.Code = "invalid_limit"
	CodeInvalidAddress  domain.Code = "invalid_address"
)

// Security gathers the dependencies of the security endpoints. Each nil part switches its
// endpoints (or the throttle check) off.
type Security struct {
	Timeline  *timeline.Timeline
	History   *history.Reader
	Throttles *commands.Throttles
}

var securityRole = []Role{RoleSecurity}

// RegisterSecurityRoutes registers the security endpoints.
func (a *API) RegisterSecurityRoutes(r *mux.Router) {
	a.handle(r, route{method: http.MethodGet, path: "/v1/suspicious-activity", name: "security.timeline", roles: securityRole}, a.suspiciousActivity)
	a.handle(r, route{method: http.MethodGet, path: "/v1/accounts/{id}/events", name: "security.history", roles: securityRole}, a.accountHistory)
	a.handle(r, route{method: http.MethodGet, path: "/v1/accounts/{id}/state", name: "security.state_at", roles: securityRole}, a.accountStateAt)
	a.handle(r, route{method: http.MethodPost, path: "/v1/what-if", name: "security.what_if", roles: securityRole}, a.whatIf)
}

type securityParam struct {
	Param string `json:"param"`
}

func badParam(code domain.Code, param, msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: code, Message: msg, Details: securityParam{Param: param}}
}

func unavailable(what string) *Error {
	return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: what + " is not enabled on this server"}
}

// checkThrottle refuses a sign-in from a throttled address with 429 too_many_attempts. The
// check is one cached load of the address's stream, at the service's (injected) clock.
func (a *API) checkThrottle(x *exchange, ip string) error {
	if a.security.Throttles == nil || ip == "" {
		return nil
	}
	wait, throttled, err := a.security.Throttles.RetryAfter(x.r.Context(), ip)
	if err != nil || !throttled {
		return err
	}
	secs := int(math.Ceil(wait.Seconds()))
	x.w.Header().Set("Retry-After", strconv.Itoa(secs))
	return &Error{Status: http.StatusTooManyRequests, Code: CodeTooManyAttempts,
		Message: "too many sign-in attempts from this address; wait before trying again",
		Details: struct {
			RetryAfterSeconds int `json:"retry_after_seconds"`
		}{secs}}
}

func parseQuery(x *exchange) (url.Values, error) {
	q, err := url.ParseQuery(x.r.URL.RawQuery)
	if err != nil {
		return nil, invalidRequest("malformed query string: %v", err)
	}
	return q, nil
}

func parseLimit(q url.Values, def, most int) (int, error) {
	raw := q.Get("limit")
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > most {
		return 0, badParam(CodeInvalidLimit, "limit", "limit must be an integer from 1 to "+strconv.Itoa(most))
	}
	return n, nil
}

func parseInstant(q url.Values, name string) (time.Time, error) {
	raw := q.Get(name)
	if raw == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		return time.Time{}, badParam(CodeInvalidTime, name, name+" must be an RFC 3339 time, e.g. 2026-03-02T09:00:00Z")
	}
	return t.UTC(), nil
}

func (a *API) suspiciousActivity(x *exchange) error {
	if a.security.Timeline == nil {
		return unavailable("the suspicious-activity timeline")
	}
	q, err := parseQuery(x)
	if err != nil {
		return err
	}
	tq := timeline.Query{PropertyID: strings.TrimSpace(q.Get("property_id")), AccountID: strings.TrimSpace(q.Get("account_id"))}
	for _, f := range []struct{ param, value string }{{"property_id", tq.PropertyID}, {"account_id", tq.AccountID}} {
		if _, err := uuid.Parse(f.value); f.value != "" && err != nil {
			// A filter that can match nothing is a client's mistake: say so rather than answer an empty page.
			return badParam(CodeInvalidID, f.param, f.param+" must be a UUID")
		}
	}
	if ip := strings.TrimSpace(q.Get("ip")); ip != "" {
		if _, err := netip.ParseAddr(ip); err != nil {
			return badParam(CodeInvalidAddress, "ip", "ip must be an IPv4 or IPv6 address")
		}
		tq.IP = ip
	}
	if tq.Since, err = parseInstant(q, "since"); err != nil {
		return err
	}
	if tq.Until, err = parseInstant(q, "until"); err != nil {
		return err
	}
	if !tq.Since.IsZero() && !tq.Until.IsZero() && !tq.Since.Before(tq.Until) {
		return badParam(CodeInvalidTime, "until", "until must be after since")
	}
	if c := q.Get("cursor"); c != "" {
		if tq.Before, err = timeline.DecodeCursor(c); err != nil {
			return badParam(CodeInvalidCursor, "cursor", "cursor is not one this endpoint returned")
		}
	}
	if tq.Limit, err = parseLimit(q, 50, 200); err != nil {
		return err
	}
	page, err := a.security.Timeline.Search(x.r.Context(), tq)
	if err != nil {
		return err
	}
	return x.json(http.StatusOK, page)
}

func historyError(err error) error {
	if domain.ErrorCode(err) == domain.CodeInvalidPolicy {
		return &Error{Status: http.StatusBadRequest, Code: domain.CodeInvalidPolicy, Message: err.Error()}
	}
	var he *history.Error
	if errors.As(err, &he) {
		if strings.HasSuffix(string(he.Code), "_not_found") {
			return &Error{Status: http.StatusNotFound, Code: he.Code, Message: he.Message}
		}
		return &Error{Status: http.StatusBadRequest, Code: he.Code, Message: he.Message}
	}
	return err
}

func (a *API) accountHistory(x *exchange) error {
	if a.security.History == nil {
		return unavailable("account history")
	}
	q, err := parseQuery(x)
	if err != nil {
		return err
	}
	after := int64(-1)
	if raw := q.Get("after"); raw != "" {
		n, err := strconv.ParseUint(raw, 10, 63)
		if err != nil {
			return badParam(CodeInvalidCursor, "after", "after must be a revision (a non-negative integer) from a previous page")
		}
		after = int64(n)
	}
	limit, err := parseLimit(q, 100, 1000)
	if err != nil {
		return err
	}
	page, err := a.security.History.Events(x.r.Context(), x.pathVar("id"), after, limit)
	if err != nil {
		return historyError(err)
	}
	return x.json(http.StatusOK, page)
}

func (a *API) accountStateAt(x *exchange) error {
	if a.security.History == nil {
		return unavailable("account history")
	}
	q, err := parseQuery(x)
	if err != nil {
		return err
	}
	at, err := parseInstant(q, "at")
	if err != nil {
		return err
	}
	if at.IsZero() {
		return badParam(CodeInvalidTime, "at", "at is required: an RFC 3339 time")
	}
	st, err := a.security.History.StateAt(x.r.Context(), x.pathVar("id"), at)
	if err != nil {
		return historyError(err)
	}
	return x.json(http.StatusOK, st)
}

type whatIfRequest struct {
	Policy     json.RawMessage `json:"policy"`
	AccountIDs []string        `json:"account_ids"`
	PropertyID string          `json:"property_id"`
	From       string          `json:"from"`
	To         string          `json:"to"`
}

// whatIf replays history under a candidate policy: the candidate is the policy in force
// with the fields the request gives, so {"lockout_threshold": 10} is a whole request.
func (a *API) whatIf(x *exchange) error {
	if a.security.History == nil {
		return unavailable("what-if replay")
	}
	var req whatIfRequest
	if err := x.decode(&req); err != nil {
		return err
	}
	p, err := candidatePolicy(a.svc.Policy(), req.Policy)
	if err != nil {
		return err
	}
	from, err := time.Parse(time.RFC3339Nano, req.From)
	if err != nil {
		return badParam(CodeInvalidTime, "from", "from must be an RFC 3339 time")
	}
	to, err := time.Parse(time.RFC3339Nano, req.To)
	if err != nil {
		return badParam(CodeInvalidTime, "to", "to must be an RFC 3339 time")
	}
	if !from.Before(to) {
		return badParam(CodeInvalidTime, "to", "to must be after from")
	}
	if len(req.AccountIDs) > 1000 {
		return invalidRequest("at most 1000 account_ids")
	}
	ctx, cancel := context.WithTimeout(x.r.Context(), 20*time.Second)
	defer cancel()
	rep, err := a.security.History.WhatIf(ctx, history.WhatIfRequest{Policy: p, AccountIDs: req.AccountIDs, PropertyID: req.PropertyID, From: from.UTC(), To: to.UTC()})
	if err != nil {
		return historyError(err)
	}
	return x.json(http.StatusOK, rep)
}

// candidatePolicy lays the request's settings over the policy in force. A misspelt setting
// is refused, as in a policy file: replaying silently under the current value instead would
// answer a question nobody asked.
func candidatePolicy(current domain.Policy, changes json.RawMessage) (domain.Policy, error) {
	if len(changes) == 0 {
		return current, nil
	}
	dec := json.NewDecoder(bytes.NewReader(changes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&current); err != nil {
		return current, &Error{Status: http.StatusBadRequest, Code: domain.CodeInvalidPolicy, Message: "policy: " + err.Error(), Details: securityParam{Param: "policy"}}
	}
	return current, historyError(current.Validate())
}
