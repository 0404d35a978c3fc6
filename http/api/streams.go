package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/gorilla/mux"

	"accountd/domain"
	"accountd/projections/streams"
)

// Streams is what the API needs of the log streams: their state, and a reset to replay.
type Streams interface {
	List(ctx context.Context) ([]streams.Status, error)
	Reset(ctx context.Context, name string, from uint64) error
}

// StreamResetRequest is the body of POST /v1/admin/streams/{name}/reset.
type StreamResetRequest struct {
	// From is the first log position the stream sends again (1: the whole log).
	From *uint64 `json:"from"`
}

// Codes of the stream endpoints.
const (
	CodeUnknownStream      domain.Code = "unknown_stream"
	CodePositionBeyondHead domain.Code = "position_beyond_head"
)

// RegisterStreamRoutes registers the log streams' administration.
func (a *API) RegisterStreamRoutes(r *mux.Router) {
	a.handle(r, route{method: http.MethodGet, path: "/v1/admin/streams", name: "admin.streams_list", roles: adminOnly}, a.listStreams)
	a.handle(r, route{method: http.MethodPost, path: "/v1/admin/streams/{name}/reset", name: "admin.streams_reset", roles: adminOnly}, a.resetStream)
}

func (a *API) listStreams(x *exchange) error {
	list := []streams.Status{}
	if a.streams != nil {
		var err error
		if list, err = a.streams.List(x.r.Context()); err != nil {
			return err
		}
	}
	return x.json(http.StatusOK, map[string][]streams.Status{"streams": list})
}

func (a *API) resetStream(x *exchange) error {
	name := x.pathVar("name")
	// The body is judged first, so a malformed request is refused the same way everywhere.
	var req StreamResetRequest
	if err := x.decode(&req); err != nil {
		return err
	}
	if a.streams == nil {
		return &Error{Status: http.StatusNotFound, Code: CodeUnknownStream, Message: "this server has no stream " + name}
	}
	if req.From == nil {
		return invalidRequest("from: want the first log position to send again (1: the whole log)")
	}
	err := a.streams.Reset(x.r.Context(), name, *req.From)
	switch {
	case errors.Is(err, streams.ErrUnknownStream):
		return &Error{Status: http.StatusNotFound, Code: CodeUnknownStream, Message: err.Error()}
	case errors.Is(err, streams.ErrBeyondHead):
		return &Error{Status: http.StatusBadRequest, Code: CodePositionBeyondHead, Message: err.Error()}
	case err != nil:
		return err
	}
	list, err := a.streams.List(x.r.Context())
	if err != nil {
		return err
	}
	for _, st := range list {
		if st.Name == name {
			return x.json(http.StatusOK, st)
		}
	}
	return x.json(http.StatusOK, map[string]string{"name": name})
}
