package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"accountd/domain"
	"accountd/projections"
)

// Rebuilds is what the API needs of the server to rebuild read models while it serves
// (projections.Runner.Rebuild): start one, and follow it.
type Rebuilds interface {
	// Start rebuilds the requested projections (all when none) in the background. Errors
	// wrap projections.ErrUnknownProjection, ErrNotRebuildable or ErrRebuildRunning.
	Start(req RebuildRequest) (RebuildJob, error)
	Get(id string) (RebuildJob, bool)
	// List returns the rebuilds the server remembers, newest first.
	List() []RebuildJob
}

// RebuildRequest is the body of POST /v1/admin/rebuilds.
type RebuildRequest struct {
	Projections []string `json:"projections"`
	// MaxRate bounds the replay in events per second (0: unbounded), so a rebuild on a busy
	// node leaves the server the CPU it needs (projections.RebuildOptions).
	MaxRate int `json:"max_rate"`
}

// Rebuild states.
const (
	RebuildRunning   = "running"
	RebuildSucceeded = "succeeded"
	RebuildFailed    = "failed"
)

// RebuildJob is an online rebuild as the operator follows it.
type RebuildJob struct {
	ID          string    `json:"id"`
	State       string    `json:"state"`
	Projections []string  `json:"projections"`
	MaxRate     int       `json:"max_rate,omitempty"`
	StartedAt   time.Time `json:"started_at"`
	FinishedAt  time.Time `json:"finished_at,omitzero"`
	// File, Phase, Done and Total are the progress of the file being rebuilt: Done of Total
	// log positions replayed (projections.RebuildProgress).
	File    string          `json:"file,omitempty"`
	Phase   string          `json:"phase,omitempty"`
	Done    uint64          `json:"done"`
	Total   uint64          `json:"total"`
	Results []RebuildResult `json:"results"`
	Error   string          `json:"error,omitempty"`
}

// RebuildResult is one file's finished rebuild.
type RebuildResult struct {
	File        string   `json:"file"`
	Projections []string `json:"projections"`
	Head        uint64   `json:"head"`
	ElapsedMS   int64    `json:"elapsed_ms"`
	// PausedMS is how long the rebuilt projections stopped following the log (catch-up and
	// swap); the server answered from the old read models until then.
	PausedMS int64 `json:"paused_ms"`
}

// Codes of the rebuild endpoints.
const (
	CodeUnknownProjection domain.Code = "unknown_projection"
	CodeNotRebuildable    domain.Code = "not_rebuildable"
	CodeRebuildRunning    domain.Code = "rebuild_running"
)

// RegisterOperationsRoutes registers what operators drive on a running server.
func (a *API) RegisterOperationsRoutes(r *mux.Router) {
	a.handle(r, route{method: http.MethodPost, path: "/v1/admin/rebuilds", name: "admin.rebuilds_start", roles: adminOnly, optionalBody: true}, a.startRebuild)
	a.handle(r, route{method: http.MethodGet, path: "/v1/admin/rebuilds", name: "admin.rebuilds_list", roles: adminOnly}, a.listRebuilds)
	a.handle(r, route{method: http.MethodGet, path: "/v1/admin/rebuilds/{id}", name: "admin.rebuilds_get", roles: adminOnly}, a.getRebuild)
}

func (a *API) startRebuild(x *exchange) error {
	if a.rebuilds == nil {
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeNotReady, Message: "this server does not rebuild online"}
	}
	var req RebuildRequest
	if err := x.decode(&req); err != nil {
		return err
	}
	if req.MaxRate < 0 {
		return invalidRequest("max_rate: want events per second, 0 for unbounded")
	}
	job, err := a.rebuilds.Start(req)
	switch {
	case errors.Is(err, projections.ErrUnknownProjection):
		return &Error{Status: http.StatusBadRequest, Code: CodeUnknownProjection, Message: err.Error()}
	case errors.Is(err, projections.ErrNotRebuildable):
		return &Error{Status: http.StatusBadRequest, Code: CodeNotRebuildable, Message: err.Error()}
	case errors.Is(err, projections.ErrRebuildRunning):
		return &Error{Status: http.StatusConflict, Code: CodeRebuildRunning, Message: "a rebuild is already running: follow it at GET /v1/admin/rebuilds"}
	case err != nil:
		return err
	}
	x.Header().Set("Location", "/v1/admin/rebuilds/"+job.ID)
	return x.json(http.StatusAccepted, job)
}

func (a *API) listRebuilds(x *exchange) error {
	if a.rebuilds == nil {
		return x.json(http.StatusOK, map[string][]RebuildJob{"rebuilds": {}})
	}
	return x.json(http.StatusOK, map[string][]RebuildJob{"rebuilds": a.rebuilds.List()})
}

func (a *API) getRebuild(x *exchange) error {
	if a.rebuilds != nil {
		if job, ok := a.rebuilds.Get(x.pathVar("id")); ok {
			return x.json(http.StatusOK, job)
		}
	}
	return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: "no such rebuild (the server remembers the last 20, until it restarts)"}
}
