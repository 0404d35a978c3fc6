// Package client is a typed Go client of accountd's HTTP API, as /openapi.yaml describes
// it. The project's own online commands (accountd rebuild, accountd bench's set-up) and its
// end-to-end tests use it, so it is held to the same contract as any integrator's code.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"accountd/http/api"
	"accountd/projections"
	"accountd/projections/streams"
)

// Client calls one server with one token. The zero HTTP client is http.DefaultClient.
type Client struct {
	BaseURL string
	Token   string
	HTTP    *http.Client
}

// New returns a client of the server at baseURL (http://127.0.0.1:8080) using token.
func New(baseURL, token string, hc *http.Client) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), Token: token, HTTP: hc}
}

// WithToken is the same client under another token (another role).
func (c *Client) WithToken(token string) *Client {
	out := *c
	out.Token = token
	return &out
}

// Error is the server's error envelope: a stable Code to branch on, a Message for people.
type Error struct {
	Status    int
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
	// Details is code-specific (the password rules broken, the offending parameter).
	Details json.RawMessage `json:"details"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("accountd: %d %s: %s", e.Status, e.Code, e.Message)
}

// ErrorCode is the server's code of err ("" when err is not a server's answer).
func ErrorCode(err error) string {
	if e, ok := err.(*Error); ok {
		return e.Code
	}
	return ""
}

// do sends one request and decodes a 2xx answer into out; any other answer is an *Error.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	return c.doWith(ctx, method, path, query, nil, body, out)
}

// doWith is do with extra request headers.
func (c *Client) doWith(ctx context.Context, method, path string, query url.Values, header http.Header, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	u := c.BaseURL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("the server at %s: %w", c.BaseURL, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("the server at %s: %w", c.BaseURL, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var envelope struct {
			Error *Error `json:"error"`
		}
		if json.Unmarshal(raw, &envelope) == nil && envelope.Error != nil {
			envelope.Error.Status = resp.StatusCode
			return envelope.Error
		}
		return &Error{Status: resp.StatusCode, Code: "http_" + strconv.Itoa(resp.StatusCode), Message: strings.TrimSpace(string(raw))}
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}

func pathOf(parts ...string) string {
	var b strings.Builder
	for i, p := range parts {
		if i%2 == 1 {
			p = url.PathEscape(p)
		}
		b.WriteString(p)
	}
	return b.String()
}

// ReadAfter makes a read wait (bounded) until the server's read model has applied the
// log position a write answered; zero reads what is there.
type ReadAfter uint64

func (r ReadAfter) query(q url.Values) url.Values {
	if r > 0 {
		if q == nil {
			q = url.Values{}
		}
		q.Set("min_position", strconv.FormatUint(uint64(r), 10))
	}
	return q
}

// Written is the answer of a write on an account: its ID and the log position to read at.
type Written struct {
	AccountID string `json:"account_id"`
	Status    string `json:"status,omitempty"`
	Position  uint64 `json:"position"`
}

// Registration is a new account.
type Registration struct {
	Email      string `json:"email"`
	Password   string `json:"password"`
	PropertyID string `json:"property_id,omitempty"`
}

// Register creates an account, pending activation (the activation mail goes out).
func (c *Client) Register(ctx context.Context, r Registration) (Written, error) {
	var out Written
	return out, c.do(ctx, http.MethodPost, "/v1/accounts", nil, r, &out)
}

// Activate activates an account with the e-mailed token.
func (c *Client) Activate(ctx context.Context, token string) (Written, error) {
	var out Written
	return out, c.do(ctx, http.MethodPost, "/v1/activations", nil, map[string]string{"token": token}, &out)
}

// Reason is one reason of a status.
type Reason struct {
	Code            string    `json:"code"`
	Message         string    `json:"message"`
	Since           time.Time `json:"since"`
	Until           time.Time `json:"until"`
	Remediation     string    `json:"remediation"`
	RemediationCode string    `json:"remediation_code"`
	PropertyID      string    `json:"property_id"`
}

// Status is an account's status.
type Status struct {
	AccountID         string     `json:"account_id"`
	Email             string     `json:"email"`
	Status            string     `json:"status"`
	Reasons           []Reason   `json:"reasons"`
	FailedAttempts    int        `json:"failed_attempts"`
	AttemptsRemaining int        `json:"attempts_remaining"`
	PasswordChangedAt *time.Time `json:"password_changed_at"`
	PasswordExpiresAt *time.Time `json:"password_expires_at"`
	MFA               struct {
		Enrolled       bool       `json:"enrolled"`
		EnrolmentDueBy *time.Time `json:"enrolment_due_by"`
	} `json:"mfa"`
	Properties []struct {
		PropertyID string   `json:"property_id"`
		Allowed    bool     `json:"allowed"`
		Reasons    []Reason `json:"reasons"`
	} `json:"properties"`
	Position uint64 `json:"position"`
}

// StatusAt reads an account's status: after a write (ReadAfter), and at a future instant
// if at is not zero ("if nothing else happens before then").
func (c *Client) StatusAt(ctx context.Context, accountID string, after ReadAfter, at time.Time) (Status, error) {
	q := after.query(nil)
	if !at.IsZero() {
		if q == nil {
			q = url.Values{}
		}
		q.Set("at", at.UTC().Format(time.RFC3339Nano))
	}
	var out Status
	return out, c.do(ctx, http.MethodGet, pathOf("/v1/accounts/", accountID, "/status"), q, nil, &out)
}

// Status reads an account's status now, after the given write.
func (c *Client) Status(ctx context.Context, accountID string, after ReadAfter) (Status, error) {
	return c.StatusAt(ctx, accountID, after, time.Time{})
}

// Login is a sign-in attempt as the login service saw it.
type Login struct {
	Email     string `json:"email"`
	Password  string `json:"password"`
	TOTPCode  string `json:"totp_code,omitempty"`
	IP        string `json:"ip"`
	UserAgent string `json:"user_agent,omitempty"`
	DeviceID  string `json:"device_id,omitempty"`
}

// LoginDecision is the answer to a sign-in.
type LoginDecision struct {
	Decision          string    `json:"decision"`
	Reason            string    `json:"reason"`
	Reasons           []string  `json:"reasons"`
	AttemptsRemaining int       `json:"attempts_remaining"`
	RetryAfterSeconds int       `json:"retry_after_seconds"`
	AccountID         string    `json:"account_id"`
	SessionID         string    `json:"session_id"`
	SessionExpiresAt  time.Time `json:"session_expires_at"`
	Message           string    `json:"message"`
	Remediation       string    `json:"remediation"`
	Warning           string    `json:"warning"`
	Position          uint64    `json:"position"`
}

// Login asks for the sign-in decision.
func (c *Client) Login(ctx context.Context, l Login) (LoginDecision, error) {
	var out LoginDecision
	return out, c.do(ctx, http.MethodPost, "/v1/logins", nil, l, &out)
}

// Session is a session check's answer.
type Session struct {
	Valid      bool      `json:"valid"`
	Reason     string    `json:"reason"`
	ExpiresAt  time.Time `json:"expires_at"`
	StartedAt  time.Time `json:"started_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
}

// CheckSession checks a session and records its use.
func (c *Client) CheckSession(ctx context.Context, sessionID string) (Session, error) {
	var out Session
	return out, c.do(ctx, http.MethodGet, pathOf("/v1/sessions/", sessionID), nil, nil, &out)
}

// Logout ends a session; it returns the log position of the end.
func (c *Client) Logout(ctx context.Context, sessionID string) (uint64, error) {
	var out struct {
		Position uint64 `json:"position"`
	}
	return out.Position, c.do(ctx, http.MethodDelete, pathOf("/v1/sessions/", sessionID), nil, nil, &out)
}

// PropertyWritten is the answer of a write on a property.
type PropertyWritten struct {
	PropertyID string `json:"property_id"`
	Position   uint64 `json:"position"`
}

// CreateProperty creates a property (a hotel).
func (c *Client) CreateProperty(ctx context.Context, name, primaryContactEmail string) (PropertyWritten, error) {
	var out PropertyWritten
	return out, c.do(ctx, http.MethodPost, "/v1/properties", nil, map[string]string{"name": name, "primary_contact_email": primaryContactEmail}, &out)
}

// PropertyQuery selects properties; the zero value is every property, 50 a page.
type PropertyQuery struct {
	Name, MemberAccountID, Cursor string
	Limit                         int
	After                         ReadAfter
}

// PropertySummary is one property of a list, as the server's read model writes it.
type PropertySummary = projections.PropertySummary

// PropertyPage is one page of properties; NextCursor is empty on the last.
type PropertyPage struct {
	Properties []PropertySummary `json:"properties"`
	NextCursor string            `json:"next_cursor"`
}

// FindProperties reads one page of properties.
func (c *Client) FindProperties(ctx context.Context, q PropertyQuery) (PropertyPage, error) {
	v := q.After.query(url.Values{})
	setIf(v, "name", q.Name)
	setIf(v, "member_account_id", q.MemberAccountID)
	setIf(v, "cursor", q.Cursor)
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var out PropertyPage
	return out, c.do(ctx, http.MethodGet, "/v1/properties", v, nil, &out)
}

// Member is one member of a property, as the server's read model writes it.
type Member = projections.Member

// MemberPage is one page of a property's members; NextCursor is empty on the last.
type MemberPage struct {
	PropertyID string   `json:"property_id"`
	Members    []Member `json:"members"`
	NextCursor string   `json:"next_cursor"`
}

// Members reads one page of a property's members (cursor "" for the first).
func (c *Client) Members(ctx context.Context, propertyID, cursor string, limit int, after ReadAfter) (MemberPage, error) {
	v := after.query(url.Values{})
	setIf(v, "cursor", cursor)
	if limit > 0 {
		v.Set("limit", strconv.Itoa(limit))
	}
	var out MemberPage
	return out, c.do(ctx, http.MethodGet, pathOf("/v1/properties/", propertyID, "/members"), v, nil, &out)
}

// StartRebuild asks the server to rebuild read models online.
func (c *Client) StartRebuild(ctx context.Context, r api.RebuildRequest) (api.RebuildJob, error) {
	var out api.RebuildJob
	return out, c.do(ctx, http.MethodPost, "/v1/admin/rebuilds", nil, r, &out)
}

// Rebuild reads how far a rebuild got.
func (c *Client) Rebuild(ctx context.Context, id string) (api.RebuildJob, error) {
	var out api.RebuildJob
	return out, c.do(ctx, http.MethodGet, pathOf("/v1/admin/rebuilds/", id), nil, nil, &out)
}

// Streams lists the server's log streams (GET /v1/admin/streams).
func (c *Client) Streams(ctx context.Context) ([]streams.Status, error) {
	var out struct {
		Streams []streams.Status `json:"streams"`
	}
	return out.Streams, c.do(ctx, http.MethodGet, "/v1/admin/streams", nil, nil, &out)
}

// ResetStream makes a log stream send again from log position from.
func (c *Client) ResetStream(ctx context.Context, name string, from uint64) (streams.Status, error) {
	var out streams.Status
	return out, c.do(ctx, http.MethodPost, pathOf("/v1/admin/streams/", name, "/reset"), nil, api.StreamResetRequest{From: &from}, &out)
}

func setIf(v url.Values, key, value string) {
	if value != "" {
		v.Set(key, value)
	}
}

// Erase erases an account (POST /v1/accounts/{id}/erasure). idempotencyKey names the
// command: sending it again with the same key finishes an interrupted erasure and writes
// nothing twice ("" lets the server pick one).
func (c *Client) Erase(ctx context.Context, accountID string, r api.ErasureRequest, idempotencyKey string) (api.ErasureWritten, error) {
	var out api.ErasureWritten
	h := http.Header{}
	if idempotencyKey != "" {
		h.Set("Idempotency-Key", idempotencyKey)
	}
	return out, c.doWith(ctx, http.MethodPost, pathOf("/v1/accounts/", accountID, "/erasure"), nil, h, r, &out)
}
