package api

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"
	"golang.org/x/mod/sumdb/tlog"

	"accountd/domain"
	"accountd/eventstore"
	"accountd/eventstore/transparency"
)

// Transparency is what the transparency log's endpoints read: the store's Merkle tree,
// the checkpoints signed over it, and the verdict of the server's own audit of the log.
type Transparency struct {
	Tree        transparency.Tree
	Checkpoints *transparency.Checkpointer
	// Integrity is the first mismatch the server's audit found, nil while the log is intact.
	Integrity func() error
}

// Codes of the transparency endpoints.
const (
	CodeLogIntegrityBroken = "log_integrity_broken"
	CodeInvalidPosition    = "invalid_position"
	CodeInvalidTreeSize    = "invalid_tree_size"
	CodeBeyondTree         = "beyond_tree"
	CodeTreeNotSupported   = "tree_not_supported"
)

var auditorAndSecurity = []Role{RoleAuditor, RoleSecurity}

func (a *API) registerTransparencyRoutes(r *mux.Router) {
	a.handle(r, route{method: http.MethodGet, path: "/v1/compliance/checkpoint", name: "compliance.checkpoint", roles: auditorAndSecurity}, a.checkpoint)
	a.handle(r, route{method: http.MethodGet, path: "/v1/compliance/proofs/inclusion", name: "compliance.proof_inclusion", roles: auditorAndSecurity}, a.inclusionProof)
	a.handle(r, route{method: http.MethodGet, path: "/v1/compliance/proofs/consistency", name: "compliance.proof_consistency", roles: auditorAndSecurity}, a.consistencyProof)
	a.handle(r, route{method: http.MethodGet, path: "/v1/compliance/events/{position}", name: "compliance.event_leaf", roles: auditorAndSecurity}, a.eventLeaf)
}

// integrityError is the 409 every compliance route answers once the audit found the log
// altered: evidence drawn from it would prove nothing.
func (a *API) integrityError() error {
	if a.transparency == nil || a.transparency.Integrity == nil {
		return nil
	}
	if err := a.transparency.Integrity(); err != nil {
		e := &Error{Status: http.StatusConflict, Code: CodeLogIntegrityBroken, Message: err.Error()}
		var m *eventstore.TreeMismatchError
		if errors.As(err, &m) {
			e.Details = map[string]any{"position": m.Position, "reason": m.Reason}
		}
		return e
	}
	return nil
}

func (a *API) transparencyReady() (*Transparency, error) {
	if a.transparency == nil {
		return nil, &Error{Status: http.StatusNotImplemented, Code: CodeTreeNotSupported, Message: "this server's event store keeps no transparency tree"}
	}
	return a.transparency, a.integrityError()
}

func (a *API) checkpoint(x *exchange) error {
	t, err := a.transparencyReady()
	if err != nil {
		return err
	}
	s, ok := t.Checkpoints.Latest()
	if !ok {
		if s, err = t.Checkpoints.Sign(x.r.Context()); err != nil {
			return err
		}
	}
	h := x.w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h["Cache-Control"] = noStore
	x.WriteHeader(http.StatusOK)
	_, _ = x.Write(s.Note)
	return nil
}

// queryInt reads a required positive integer query parameter.
func queryInt(x *exchange, name string, code domain.Code, min int64) (int64, error) {
	v := x.r.URL.Query().Get(name)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < min {
		return 0, &Error{Status: http.StatusBadRequest, Code: code, Message: "query parameter " + name + " must be an integer of at least " + strconv.FormatInt(min, 10)}
	}
	return n, nil
}

func proofError(err error) error {
	if errors.Is(err, transparency.ErrBeyondTree) {
		return &Error{Status: http.StatusBadRequest, Code: CodeBeyondTree, Message: err.Error()}
	}
	return err
}

type inclusionBody struct {
	Position int64    `json:"position"`
	TreeSize int64    `json:"tree_size"`
	LeafHash string   `json:"leaf_hash"`
	Proof    []string `json:"proof"`
}

func (a *API) inclusionProof(x *exchange) error {
	t, err := a.transparencyReady()
	if err != nil {
		return err
	}
	pos, err := queryInt(x, "position", CodeInvalidPosition, 1)
	if err != nil {
		return err
	}
	size, err := queryInt(x, "tree_size", CodeInvalidTreeSize, 1)
	if err != nil {
		return err
	}
	p, err := t.Tree.ProveInclusion(x.r.Context(), pos, size)
	if err != nil {
		return proofError(err)
	}
	return x.json(http.StatusOK, inclusionBody{Position: p.Position, TreeSize: p.TreeSize, LeafHash: b64(p.LeafHash), Proof: b64s(p.Proof)})
}

type consistencyBody struct {
	From  int64    `json:"from"`
	To    int64    `json:"to"`
	Proof []string `json:"proof"`
}

func (a *API) consistencyProof(x *exchange) error {
	t, err := a.transparencyReady()
	if err != nil {
		return err
	}
	from, err := queryInt(x, "from", CodeInvalidTreeSize, 1)
	if err != nil {
		return err
	}
	to, err := queryInt(x, "to", CodeInvalidTreeSize, 1)
	if err != nil {
		return err
	}
	p, err := t.Tree.ProveConsistency(x.r.Context(), from, to)
	if err != nil {
		return proofError(err)
	}
	return x.json(http.StatusOK, consistencyBody{From: p.From, To: p.To, Proof: b64s(p.Proof)})
}

// eventLeafBody is an event as its leaf discloses it: secrets and personal data appear
// as the commitments the leaf holds, never in clear.
type eventLeafBody struct {
	Position   uint64          `json:"position"`
	Stream     string          `json:"stream"`
	Revision   uint64          `json:"revision"`
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	RecordedAt time.Time       `json:"recorded_at"`
	Data       json.RawMessage `json:"data"`
	Metadata   json.RawMessage `json:"metadata"`
	LeafBytes  string          `json:"leaf_bytes"`
	LeafHash   string          `json:"leaf_hash"`
}

func (a *API) eventLeaf(x *exchange) error {
	t, err := a.transparencyReady()
	if err != nil {
		return err
	}
	pos, err := strconv.ParseUint(mux.Vars(x.r)["position"], 10, 64)
	if err != nil || pos < 1 {
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidPosition, Message: "path parameter position must be an integer of at least 1"}
	}
	events, err := t.Tree.Store.ReadAll(x.r.Context(), pos-1, 1)
	if err != nil {
		return err
	}
	if len(events) == 0 || events[0].Position != pos {
		return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: "no event at position " + strconv.FormatUint(pos, 10)}
	}
	e := events[0]
	view := transparency.ViewOf(e.ID, e.Data, e.Metadata)
	leaf := transparency.AppendLeaf(nil, e, view)
	return x.json(http.StatusOK, eventLeafBody{
		Position: e.Position, Stream: e.Stream, Revision: e.Revision, ID: e.ID.String(), Type: e.Type, RecordedAt: e.RecordedAt,
		Data: readableView(view.Data), Metadata: readableView(view.Metadata),
		LeafBytes: base64.StdEncoding.EncodeToString(leaf), LeafHash: b64(transparency.LeafHash(leaf)),
	})
}

// readableView shows a payload view as JSON: the redacted JSON itself, or for an opaque
// payload {"sha256": base64}.
func readableView(v []byte) json.RawMessage {
	switch {
	case len(v) == 0:
		return json.RawMessage("null")
	case v[0] == transparency.ViewJSON:
		return json.RawMessage(v[1:])
	}
	b, _ := json.Marshal(map[string]string{"sha256": base64.StdEncoding.EncodeToString(v[1:])})
	return b
}

func b64(h tlog.Hash) string { return base64.StdEncoding.EncodeToString(h[:]) }

func b64s(hs []tlog.Hash) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = b64(h)
	}
	return out
}
