package api

import (
	"net/http"

	"accountd/projections"
)

// healthz answers as long as the process serves HTTP: a liveness probe must not fail
// because a dependency is slow, or the orchestrator restarts a healthy process.
func (a *API) healthz(x *exchange) error {
	x.writeJSON(http.StatusOK, []byte("{\"status\":\"ok\"}\n"))
	return nil
}

type readiness struct {
	Status   string `json:"status"`
	Position uint64 `json:"position"`
}

// readyz is ready once the read models have applied the log's head as of start-up and
// since: before that, status reads would answer from the past.
func (a *API) readyz(x *exchange) error {
	if err := a.integrityError(); err != nil {
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeLogIntegrityBroken, Message: err.Error()}
	}
	if a.storage != nil {
		if err := a.storage.Err(); err != nil {
			e := storageUnavailable(err)
			e.Message = "the last write to the event log failed (storage full, failing or unreachable): not ready until a write succeeds again"
			return e
		}
	}
	ok, err := a.runner.CaughtUp(x.r.Context())
	if err != nil {
		return err
	}
	if !ok {
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeNotReady, Message: "read models are catching up with the log"}
	}
	return x.json(http.StatusOK, readiness{Status: "ready", Position: a.runner.Position(projections.StatusName)})
}
