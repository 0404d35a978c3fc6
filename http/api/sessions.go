package api

import (
	"net/http"
	"time"
)

// Session checks (R7.1). A check records the session's use, so it is a command even though
// it is a GET: the log line shows the route template, as the path holds the session ID.

type sessionResponse struct {
	Valid      bool      `json:"valid"`
	Reason     string    `json:"reason,omitempty"`
	ExpiresAt  time.Time `json:"expires_at"`
	StartedAt  time.Time `json:"started_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
}

func (a *API) checkSession(x *exchange) error {
	m, err := x.meta()
	if err != nil {
		return err
	}
	c, err := a.svc.CheckSession(x.r.Context(), m, x.pathVar("id"))
	if err != nil {
		return err
	}
	return x.json(http.StatusOK, sessionResponse{Valid: c.Valid, Reason: c.Reason, ExpiresAt: c.ExpiresAt, StartedAt: c.StartedAt, LastSeenAt: c.LastSeenAt})
}

type sessionEnded struct {
	SessionID string `json:"session_id"`
	Position  uint64 `json:"position"`
}

// endSession is the holder's logout: the session is closed on record and any later check
// answers 404 session_not_found.
func (a *API) endSession(x *exchange) error {
	m, err := x.meta()
	if err != nil {
		return err
	}
	id := x.pathVar("id")
	res, err := a.svc.EndSession(x.r.Context(), m, id)
	if err != nil {
		return err
	}
	return x.json(http.StatusOK, sessionEnded{SessionID: id, Position: res.LastPosition()})
}
