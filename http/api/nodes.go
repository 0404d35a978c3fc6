package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gorilla/mux"
)

// Nodes is what the API needs of the nodes sharing the log: who is there and which
// singleton work each holds.
type Nodes interface {
	Nodes(ctx context.Context) (NodesView, error)
}

// NodesView is GET /v1/admin/nodes.
type NodesView struct {
	// HeadPosition is the log's head, from which every lag is counted.
	HeadPosition uint64 `json:"head_position"`
	// NodeID is the node that answered.
	NodeID string       `json:"node_id"`
	Nodes  []NodeStatus `json:"nodes"`
	// Unheld is the singleton work this node competes for that no node holds right now
	// (between a holder's death and the takeover).
	Unheld []string `json:"unheld"`
}

// NodeStatus is one node, as its last heartbeat reported it.
type NodeStatus struct {
	NodeID    string    `json:"node_id"`
	StartedAt time.Time `json:"started_at"`
	LastSeen  time.Time `json:"last_seen"`
	Version   string    `json:"version"`
	// Position is the lowest position of the node's read models, Lag the events after it.
	Position uint64       `json:"position"`
	Lag      uint64       `json:"lag"`
	ThisNode bool         `json:"this_node"`
	Holds    []WorkStatus `json:"holds"`
}

// WorkStatus is one singleton work a node holds.
type WorkStatus struct {
	Work         string    `json:"work"`
	Since        time.Time `json:"since"`
	ExpiresAt    time.Time `json:"expires_at"`
	FencingToken uint64    `json:"fencing_token"`
	// Position and Lag are the work's checkpoint and the events after it (absent for work
	// that keeps no position, the inactivity sweep).
	Position *uint64 `json:"position,omitempty"`
	Lag      *uint64 `json:"lag,omitempty"`
}

// RegisterNodeRoutes registers the nodes view.
func (a *API) RegisterNodeRoutes(r *mux.Router) {
	a.handle(r, route{method: http.MethodGet, path: "/v1/admin/nodes", name: "admin.nodes_list", roles: adminOnly}, a.listNodes)
}

func (a *API) listNodes(x *exchange) error {
	if a.nodes == nil {
		return x.json(http.StatusOK, NodesView{Nodes: []NodeStatus{}, Unheld: []string{}})
	}
	v, err := a.nodes.Nodes(x.r.Context())
	if err != nil {
		return err
	}
	return x.json(http.StatusOK, v)
}
