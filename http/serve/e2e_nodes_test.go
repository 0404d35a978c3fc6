package serve_test

import (
	"crypto/rand"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"accountd/eventstore/postgres/postgrestest"
	"accountd/eventstore/sqlite"
	"accountd/http/api"
	"accountd/http/serve"
)

// waitFor polls cond until it holds, failing after within.
func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func nodesView(t *testing.T, e *env) api.NodesView {
	t.Helper()
	res := e.get("/v1/admin/nodes", api.RoleAdmin)
	if res.status != http.StatusOK {
		t.Fatalf("GET /v1/admin/nodes: %d %s", res.status, res.raw)
	}
	var v api.NodesView
	if err := json.Unmarshal(res.raw, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func holds(v api.NodesView) map[string]string {
	out := map[string]string{}
	for _, n := range v.Nodes {
		for _, w := range n.Holds {
			out[w.Work] = n.NodeID
		}
	}
	return out
}

// One node (SQLite) holds all its singleton work; the view shows it with positions, only
// to the admin role, and --outbox=false keeps the node out of the outbox's election.
func TestNodesViewOneNode(t *testing.T) {
	for _, tc := range []struct {
		name      string
		noOutbox  bool
		wantWork  []string
		wantNoOut bool
	}{
		{name: "defaults", wantWork: []string{serve.WorkOutbox, serve.WorkSweep}},
		{name: "outbox off", noOutbox: true, wantWork: []string{serve.WorkSweep}, wantNoOut: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil, func(c *serve.Config) { c.DisableOutbox = tc.noOutbox; c.NodeID = "node-1" })
			prop := e.createProperty("Hotel du Lac")
			e.register("anna@hotel-lac.example", prop)
			var v api.NodesView
			waitFor(t, "work held", 10*time.Second, func() bool {
				v = nodesView(t, e)
				h := holds(v)
				for _, w := range tc.wantWork {
					if h[w] != "node-1" {
						return false
					}
				}
				return len(h) == len(tc.wantWork)
			})
			if len(v.Nodes) != 1 || !v.Nodes[0].ThisNode || v.NodeID != "node-1" || v.Nodes[0].StartedAt.IsZero() || len(v.Unheld) != 0 {
				t.Fatalf("view %+v", v)
			}
			for _, w := range v.Nodes[0].Holds {
				if w.Work == serve.WorkOutbox && (w.Position == nil || w.Lag == nil || w.FencingToken == 0 || !w.ExpiresAt.After(w.Since)) {
					t.Fatalf("outbox %+v", w)
				}
				if w.Work == serve.WorkSweep && w.Position != nil {
					t.Fatalf("the sweep keeps no position: %+v", w)
				}
			}
			if res := e.get("/v1/admin/nodes", api.RoleSecurity); res.status != http.StatusForbidden {
				t.Fatalf("security token: %d", res.status)
			}
			m := scrape(t, e)
			if !strings.Contains(m, `accountd_lease_held{work="inactivity-sweep"} 1`) || !strings.Contains(m, `accountd_lease_acquired_total{work="inactivity-sweep"} 1`) {
				t.Fatalf("/metrics lacks the lease series:\n%s", m)
			}
			if got := strings.Contains(m, `accountd_lease_held{work="outbox"}`); got == tc.wantNoOut {
				t.Fatalf("outbox lease series present: %v, outbox off: %v", got, tc.wantNoOut)
			}
		})
	}
}

// Two servers in one process on one PostgreSQL schema: each work is held by one of them,
// both are listed, and closing the holder hands its work to the other at once (a graceful
// stop releases its leases).
func TestNodesSharePostgres(t *testing.T) {
	storeURL := postgrestest.SchemaURL(t, "accountd_nodes")
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	shared := func(id string) func(*serve.Config) {
		return func(c *serve.Config) {
			c.Store, c.StoreURL, c.NodeID = serve.StorePostgres, storeURL, id
			c.MFAKey, c.LinkKey = key, key
			c.LeaseTTL, c.LeaseRenew = 1500*time.Millisecond, 300*time.Millisecond
			c.Sync = sqlite.Normal
		}
	}
	a := newEnv(t, nil, shared("a"))
	bb := newEnv(t, nil, shared("b"))
	var v api.NodesView
	waitFor(t, "both nodes listed, each work held once", 15*time.Second, func() bool {
		v = nodesView(t, bb)
		h := holds(v)
		return len(v.Nodes) == 2 && h[serve.WorkOutbox] != "" && h[serve.WorkSweep] != ""
	})
	holder := holds(v)[serve.WorkOutbox]
	envs := map[string]*env{"a": a, "b": bb}
	other := map[string]string{"a": "b", "b": "a"}[holder]
	if err := envs[holder].srv.Close(); err != nil {
		t.Fatal(err)
	}
	closed := time.Now()
	waitFor(t, "the other node takes the outbox over", 5*time.Second, func() bool {
		return holds(nodesView(t, envs[other]))[serve.WorkOutbox] == other
	})
	// Released, not lapsed: the takeover came within a couple of renew intervals.
	if took := time.Since(closed); took > time.Second {
		t.Errorf("takeover after a graceful stop took %s", took)
	}
	if _, takeovers, _ := envs[other].srv.Elector().Counts(); takeovers[serve.WorkOutbox] != 1 {
		t.Errorf("takeovers counted: %v", takeovers)
	}
}
