package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"

	"accountd/commands"
	"accountd/projections"
)

// Runner is what the API needs of the projection runner: read-your-writes waits and readiness.
type Runner interface {
	WaitFor(ctx context.Context, name string, position uint64) error
	Position(name string) uint64
	CaughtUp(ctx context.Context) (bool, error)
}

// Config holds the API's dependencies.
type Config struct {
	Service *commands.Service
	Status  *projections.Status
	Runner  Runner
	Tokens  []Token
	Logger  *slog.Logger
	// MaxBodyBytes bounds request bodies (default 64 KiB); larger ones get 413 body_too_large.
	MaxBodyBytes int64
	// StatusWait bounds a ?min_position= wait (default 2 s); then 409 not_caught_up.
	StatusWait time.Duration
	// Security wires the security endpoints and the address throttle (security.go).
	Security Security
	// NewID makes property IDs when no Idempotency-Key names the request (default random UUIDs).
	NewID func() string
	// Compliance serves the auditor's evidence reads (nil: those routes answer not_ready).
	Compliance *Compliance
	// Transparency serves checkpoints, proofs and leaves (nil: those routes answer 501).
	Transparency *Transparency
	// Metrics receives the API's series and is served at /metrics (nil: no metrics).
	Metrics *prometheus.Registry
	// Rebuilds rebuilds read models while the server serves (nil: the routes say not_ready).
	Rebuilds Rebuilds
	// Streams are the log streams (nil: none configured, GET /v1/admin/streams lists none).
	Streams Streams
	// Nodes lists the nodes sharing the log and the work each holds (nil: the list is empty).
	Nodes Nodes
	// Storage says whether the event log takes writes (nil: /readyz does not ask).
	Storage Storage
}

// Storage is the event log's write health (eventstore.StorageHealth): Err is the failure
// that made it unavailable, nil while the last write succeeded.
type Storage interface {
	Err() error
}

// DefaultMaxBodyBytes is far above any legitimate request and far below anything that
// could hurt the server.
const DefaultMaxBodyBytes = 64 << 10

// API is the HTTP handler.
type API struct {
	svc        *commands.Service
	status     *projections.Status
	runner     Runner
	auth       *authenticator
	log        *slog.Logger
	maxBody    int64
	statusWait time.Duration
	newID      func() string
	router     *mux.Router
	routes     []Route
	statusByID *endpoint
	security   Security
	compliance *Compliance
	rebuilds   Rebuilds
	streams    Streams
	nodes      Nodes
	storage    Storage
	// transparency serves the transparency log (nil: its routes answer tree_not_supported).
	transparency *Transparency
	metrics      *httpMetrics
}

// Route describes one endpoint, for documentation and tests.
type Route struct {
	Method string
	Path   string
	Name   string
	Roles  []string // empty: no token needed
}

// route is an endpoint as its registration declares it: what it answers to, who may call
// it, and how it is served, so nothing downstream singles a route out by its name or path.
type route struct {
	method, path, name string
	roles              []Role // none: no token needed
	// optionalBody: every field of the request body is optional, so an empty body reads as {}.
	optionalBody bool
	// secretPath: the path holds a secret (a session ID), so the log shows the template.
	secretPath bool
	// fastStatus: the login flow's account status by ID, which ServeHTTP matches without the
	// router (statusPathID); one route declares it.
	fastStatus bool
}

// New builds the handler with every route registered.
func New(c Config) (*API, error) {
	if c.Service == nil || c.Status == nil || c.Runner == nil {
		return nil, errors.New("api: service, status projection and runner are required")
	}
	if len(c.Tokens) == 0 {
		return nil, errors.New("api: at least one client token is required")
	}
	a := &API{
		svc: c.Service, status: c.Status, runner: c.Runner, auth: newAuthenticator(c.Tokens), log: c.Logger,
		maxBody: c.MaxBodyBytes, statusWait: c.StatusWait, newID: c.NewID, security: c.Security,
		compliance: c.Compliance, rebuilds: c.Rebuilds, streams: c.Streams, transparency: c.Transparency,
		nodes:   c.Nodes,
		storage: c.Storage,
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.maxBody <= 0 {
		a.maxBody = DefaultMaxBodyBytes
	}
	if a.statusWait <= 0 {
		a.statusWait = 2 * time.Second
	}
	if a.newID == nil {
		a.newID = uuid.NewString
	}
	var err error
	if a.metrics, err = newHTTPMetrics(c.Metrics); err != nil {
		return nil, err
	}
	r := mux.NewRouter()
	r.NotFoundHandler = &endpoint{name: "not_found", h: func(*exchange) error {
		return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: "no such endpoint"}
	}}
	r.MethodNotAllowedHandler = &endpoint{name: "method_not_allowed", h: func(*exchange) error {
		return &Error{Status: http.StatusMethodNotAllowed, Code: CodeMethodNotAllowed, Message: "method not allowed on this endpoint"}
	}}
	a.router = r
	a.RegisterHealthRoutes(r)
	a.RegisterPublicRoutes(r)
	a.RegisterAdminRoutes(r)
	a.RegisterSecurityRoutes(r)
	a.RegisterComplianceRoutes(r)
	a.RegisterOperationsRoutes(r)
	a.RegisterStreamRoutes(r)
	a.RegisterNodeRoutes(r)
	return a, nil
}

// Routes lists every registered endpoint.
func (a *API) Routes() []Route { return append([]Route(nil), a.routes...) }

// handler is an endpoint's body. It writes the success response itself and returns an
// error for anything else, which the endpoint turns into the error shape.
type handler func(x *exchange) error

type endpoint struct {
	name         string
	roles        roleSet // zero: no token needed
	secretPath   bool    // route.secretPath
	optionalBody bool    // route.optionalBody
	template     string
	h            handler
	metrics      routeObservers
}

func (e *endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x, ok := w.(*exchange)
	if !ok {
		panic("api: endpoint served outside API.ServeHTTP")
	}
	x.r = r
	x.serve(e)
}

func (x *exchange) serve(e *endpoint) {
	x.route = e.name
	x.endpoint = e
	if e.roles != 0 {
		x.roles = x.api.requestRoles(x.r)
		if x.roles == 0 {
			x.fail(&Error{Status: http.StatusUnauthorized, Code: CodeUnauthenticated, Message: "a valid bearer token is required"})
			return
		}
		if x.roles&e.roles == 0 {
			x.fail(&Error{Status: http.StatusForbidden, Code: CodeForbidden,
				Message: fmt.Sprintf("this token may not call %s: it needs the role %s", e.name, strings.Join(e.roles.names(), " or "))})
			return
		}
	}
	if err := x.checkPathIDs(); err != nil {
		x.fail(err)
		return
	}
	if err := e.h(x); err != nil {
		x.fail(err)
	}
}

func (a *API) handle(r *mux.Router, rt route, h handler) {
	e := &endpoint{name: rt.name, roles: rolesOf(rt.roles...), template: rt.path, secretPath: rt.secretPath, optionalBody: rt.optionalBody, h: h}
	r.Handle(rt.path, e).Methods(rt.method)
	names := make([]string, len(rt.roles))
	for i, role := range rt.roles {
		names[i] = string(role)
	}
	a.routes = append(a.routes, Route{Method: rt.method, Path: rt.path, Name: rt.name, Roles: names})
	if rt.fastStatus {
		a.statusByID = e
	}
}

// ServeHTTP serves one request. The account status by ID is matched here without the
// router: it is the login flow's hot path, and mux's regular expressions and context
// values would double its cost.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x := exchangePool.Get().(*exchange)
	*x = exchange{api: a, w: w, r: r, start: time.Now()}
	x.id = requestID(r)
	w.Header()["X-Request-Id"] = []string{x.id}
	defer a.finish(x)
	if r.Method == http.MethodGet {
		if id, ok := statusPathID(r.URL.Path); ok {
			x.fastID = id
			x.serve(a.statusByID)
			return
		}
	}
	a.router.ServeHTTP(x, r)
}

func statusPathID(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, "/v1/accounts/")
	if !ok {
		return "", false
	}
	id, ok := strings.CutSuffix(rest, "/status")
	if !ok || id == "" || strings.IndexByte(id, '/') >= 0 {
		return "", false
	}
	return id, true
}

// pathVar returns a path parameter, from the fast path or from the router.
func (x *exchange) pathVar(name string) string {
	if x.fastID != "" && name == "id" {
		return x.fastID
	}
	return mux.Vars(x.r)[name]
}

func (a *API) finish(x *exchange) {
	if p := recover(); p != nil {
		if p == http.ErrAbortHandler {
			panic(p)
		}
		x.fail(&Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error",
			Cause: fmt.Errorf("panic: %v\n%s", p, debug.Stack())})
	}
	a.metrics.observe(x)
	a.logRequest(x)
	*x = exchange{}
	exchangePool.Put(x)
}

// logRequest writes one structured line per request. Successful reads of the hot path log
// at debug level: at tens of thousands per second they would drown everything else.
func (a *API) logRequest(x *exchange) {
	status := x.status
	if status == 0 {
		status = http.StatusOK
	}
	level := slog.LevelInfo
	switch {
	case status >= 500:
		level = slog.LevelError
	case status < 400 && x.r.Method == http.MethodGet:
		level = slog.LevelDebug
	}
	ctx := context.Background()
	if !a.log.Enabled(ctx, level) {
		return
	}
	path := x.r.URL.Path
	if x.endpoint != nil && x.endpoint.secretPath {
		path = x.endpoint.template
	}
	attrs := []slog.Attr{
		slog.String("request_id", x.id),
		slog.String("correlation_id", correlationID(x)),
		slog.String("method", x.r.Method),
		slog.String("path", path),
		slog.String("route", x.route),
		slog.Int("status", status),
		slog.Duration("duration", time.Since(x.start)),
		slog.Int("bytes", x.bytes),
	}
	if x.errCode != "" {
		attrs = append(attrs, slog.String("error_code", string(x.errCode)))
	}
	if x.cause != nil {
		attrs = append(attrs, slog.String("error", x.cause.Error()))
	}
	a.log.LogAttrs(ctx, level, "request", attrs...)
}

// correlationID ties the request to a flow that spans services: the caller's
// X-Correlation-ID when it is short and plain (the same rule as request IDs, so a log line
// cannot be forged through it), else the request ID, which then starts the flow.
func correlationID(x *exchange) string {
	if v := x.r.Header.Get("X-Correlation-Id"); validRequestID(v) {
		return v
	}
	return x.id
}
