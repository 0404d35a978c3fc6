package api

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"time"

	"accountd/eventstore"
	"accountd/eventstore/eventlog"
	"accountd/projections/compliance"
	"accountd/projections/evidence"
	"github.com/gorilla/mux"
)

// Compliance is what the auditor's endpoints read: the compliance read model, the policy
// history and the log itself for its chain head; for evidence bundles, the transparency
// log that signs their checkpoint (nil: no bundles on this server) and the version the
// manifest records.
type Compliance struct {
	DB          *sql.DB
	Policies    *eventlog.PolicyHistory
	Store       eventstore.Store
	Clock       func() time.Time
	Evidence    *evidence.Log
	ToolVersion string
	// Disclose opens the sealed personal values a bundle's reports show (the sealing
	// store); nil shows their tokens.
	Disclose evidence.Discloser
}

var auditorOnly = []Role{RoleAuditor}

// exportWriteTimeout replaces the server's write timeout for a report: a large property's
// export legitimately takes longer than any ordinary response.
const exportWriteTimeout = 10 * time.Minute

// RegisterComplianceRoutes registers the PCI DSS evidence reads (auditor role only).
func (a *API) RegisterComplianceRoutes(r *mux.Router) {
	a.handle(r, route{method: http.MethodGet, path: "/v1/compliance/password-rotation", name: "compliance.password_rotation", roles: auditorOnly}, a.passwordRotation)
	a.handle(r, route{method: http.MethodGet, path: "/v1/compliance/access-log", name: "compliance.access_log", roles: auditorOnly}, a.accessLog)
	a.handle(r, route{method: http.MethodGet, path: "/v1/compliance/chain-head", name: "compliance.chain_head", roles: auditorOnly}, a.chainHead)
	a.handle(r, route{method: http.MethodGet, path: "/v1/compliance/evidence", name: "compliance.evidence", roles: auditorOnly}, a.evidenceBundle)
	a.registerTransparencyRoutes(r)
}

func (a *API) complianceReady() (*Compliance, error) {
	if err := a.integrityError(); err != nil {
		return nil, err
	}
	if a.compliance == nil || a.compliance.DB == nil {
		return nil, &Error{Status: http.StatusServiceUnavailable, Code: CodeNotReady, Message: "compliance reports are not configured on this server"}
	}
	return a.compliance, nil
}

// reportQuery reads property_id, from, to and format; every problem is a 400 naming the parameter.
func reportQuery(x *exchange, propertyRequired bool) (compliance.Query, string, error) {
	v := x.r.URL.Query()
	var q compliance.Query
	var err error
	q.PropertyID = v.Get("property_id")
	if q.From, err = compliance.ParseTime("from", v.Get("from")); err != nil {
		return q, "", paramError(err)
	}
	if q.To, err = compliance.ParseTime("to", v.Get("to")); err != nil {
		return q, "", paramError(err)
	}
	if err := q.Validate(propertyRequired); err != nil {
		return q, "", paramError(err)
	}
	format := v.Get("format")
	switch format {
	case "":
		format = "json"
	case "json", "csv":
	default:
		return q, "", &Error{Status: http.StatusBadRequest, Code: "invalid_params", Message: "format: want csv or json"}
	}
	return q, format, nil
}

func paramError(err error) error {
	var pe *compliance.ParamError
	if errors.As(err, &pe) {
		return &Error{Status: http.StatusBadRequest, Code: pe.Code(), Message: pe.Error()}
	}
	return err
}

// caughtUp waits until the compliance read model has applied the log's head as of the
// request, so a report never misses what was written before it was asked for. It returns
// that position, which the response states.
func (a *API) caughtUp(x *exchange, c *Compliance) (uint64, error) {
	head, err := c.Store.HeadPosition(x.r.Context())
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(x.r.Context(), a.statusWait)
	defer cancel()
	if err := a.runner.WaitFor(ctx, compliance.Name, head); err != nil {
		return 0, err
	}
	return head, nil
}

func (a *API) passwordRotation(x *exchange) error {
	return a.report(x, true, "password-rotation", func(ctx context.Context, c *Compliance, q compliance.Query, format string) error {
		if err := c.Policies.Refresh(ctx, c.Store); err != nil {
			return err
		}
		if format == "csv" {
			return compliance.WriteRotationCSV(ctx, x, c.DB, c.Policies, q)
		}
		return compliance.WriteRotationJSON(ctx, x, c.DB, c.Policies, q, c.Clock())
	})
}

func (a *API) accessLog(x *exchange) error {
	return a.report(x, false, "access-log", func(ctx context.Context, c *Compliance, q compliance.Query, format string) error {
		if format == "csv" {
			return compliance.WriteAccessCSV(ctx, x, c.DB, q)
		}
		if err := c.Policies.Refresh(ctx, c.Store); err != nil {
			return err
		}
		return compliance.WriteAccessJSON(ctx, x, c.DB, c.Policies, q, c.Clock())
	})
}

// report streams a report: headers go out before the first row, so an error after that
// point can only cut the body short (and is logged); everything checkable is checked first.
func (a *API) report(x *exchange, propertyRequired bool, name string, write func(context.Context, *Compliance, compliance.Query, string) error) error {
	c, err := a.complianceReady()
	if err != nil {
		return err
	}
	q, format, err := reportQuery(x, propertyRequired)
	if err != nil {
		return err
	}
	pos, err := a.caughtUp(x, c)
	if err != nil {
		return err
	}
	_ = http.NewResponseController(x.w).SetWriteDeadline(time.Now().Add(exportWriteTimeout))
	h := x.w.Header()
	h["Cache-Control"] = noStore
	h.Set("X-Log-Position", strconv.FormatUint(pos, 10))
	if format == "csv" {
		h.Set("Content-Type", "text/csv; charset=utf-8; header=present")
		h.Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
	} else {
		h["Content-Type"] = contentTypeJSON
	}
	return write(x.r.Context(), c, q, format)
}

// chainHeadBody is the log's head as an auditor notes it.
type chainHeadBody struct {
	Position uint64 `json:"position"`
	Hash     string `json:"hash"`
	// Verified is set when ?verify=true walked the whole chain up to this head.
	Verified bool      `json:"verified"`
	Events   uint64    `json:"events,omitempty"`
	At       time.Time `json:"at"`
}

// chainHead returns the hash of the last event. With verify=true the whole chain is
// recomputed first (proportional to the log's size), and a broken chain is a 409 naming
// the first bad position.
func (a *API) chainHead(x *exchange) error {
	c, err := a.complianceReady()
	if err != nil {
		return err
	}
	ctx := x.r.Context()
	body := chainHeadBody{At: c.Clock().UTC()}
	if x.r.URL.Query().Get("verify") == "true" {
		v, ok := eventstore.As[eventstore.ChainVerifier](c.Store) // through decorators
		if !ok {
			return &Error{Status: http.StatusNotImplemented, Code: "chain_not_supported", Message: "this event store keeps no hash chain"}
		}
		head, err := v.VerifyChain(ctx)
		var broken *eventstore.ChainBrokenError
		if errors.As(err, &broken) {
			return &Error{Status: http.StatusConflict, Code: "chain_broken", Message: broken.Error(),
				Details: map[string]any{"position": broken.Position, "reason": broken.Reason}}
		}
		if err != nil {
			return err
		}
		body.Position, body.Hash, body.Verified, body.Events = head.Position, hex.EncodeToString(head.Hash[:]), true, head.Events
		return x.json(http.StatusOK, body)
	}
	head, err := c.Store.HeadPosition(ctx)
	if err != nil {
		return err
	}
	body.Position = head
	if head > 0 {
		recs, err := c.Store.ReadAll(ctx, head-1, 1)
		if err != nil {
			return err
		}
		if len(recs) == 1 {
			body.Hash = hex.EncodeToString(recs[0].Hash[:])
		}
	}
	return x.json(http.StatusOK, body)
}

// evidenceBundle answers the evidence bundle of a property and period as a zip, anchored in
// a checkpoint signed for it (accountd evidence verify checks it offline). Nothing is
// written before the bundle is ready to stream, so every failure is a proper error answer.
func (a *API) evidenceBundle(x *exchange) error {
	c, err := a.complianceReady()
	if err != nil {
		return err
	}
	if c.Evidence == nil {
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeNotReady, Message: "evidence bundles are not configured on this server"}
	}
	q, _, err := reportQuery(x, true)
	if err != nil {
		return err
	}
	if x.r.URL.Query().Has("format") {
		return &Error{Status: http.StatusBadRequest, Code: "invalid_params", Message: "format: an evidence bundle is always a zip"}
	}
	_ = http.NewResponseController(x.w).SetWriteDeadline(time.Now().Add(exportWriteTimeout))
	src := evidence.Source{Store: c.Store, Log: *c.Evidence, ReadModels: c.DB, ToolVersion: c.ToolVersion, Now: c.Clock, Disclose: c.Disclose,
		CaughtUp: func(ctx context.Context, pos uint64) error {
			ctx, cancel := context.WithTimeout(ctx, a.statusWait)
			defer cancel()
			return a.runner.WaitFor(ctx, compliance.Name, pos)
		}}
	_, err = evidence.Export(x.r.Context(), src, q, &zipResponse{x: x, filename: "evidence-" + q.From.Format("2006-01-02") + "-" + q.To.Format("2006-01-02") + ".zip"})
	var mismatch *eventstore.TreeMismatchError
	if errors.As(err, &mismatch) {
		return &Error{Status: http.StatusConflict, Code: CodeLogIntegrityBroken, Message: mismatch.Error(),
			Details: map[string]any{"position": mismatch.Position}}
	}
	return paramError(err)
}

// zipResponse sets the bundle's headers on its first byte, so an export that fails before
// writing anything still answers a JSON error.
type zipResponse struct {
	x        *exchange
	filename string
	started  bool
}

func (z *zipResponse) Write(b []byte) (int, error) {
	if !z.started {
		z.started = true
		h := z.x.w.Header()
		h["Cache-Control"] = noStore
		h.Set("Content-Type", "application/zip")
		h.Set("Content-Disposition", `attachment; filename="`+z.filename+`"`)
	}
	return z.x.Write(b)
}
