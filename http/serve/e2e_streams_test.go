package serve_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"accountd/domain"
	"accountd/eventstore/transparency"
	"accountd/http/api"
	"accountd/http/serve"
	"accountd/projections/streams"
)

// TestStreamsThroughTheServer configures a webhook stream on a served node: what the API
// writes reaches the receiver signed, GET /v1/admin/streams and /metrics show the stream,
// and a reset through the API replays the same event IDs.
func TestStreamsThroughTheServer(t *testing.T) {
	secret := []byte("the helpdesk's secret, 32 bytes.")
	var mu sync.Mutex
	var ids []string
	var checkpoints []streams.Envelope
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := streams.Verify(secret, r.Header.Get(streams.SignatureHeader), body, time.Now(), time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var env streams.Envelope
		json.Unmarshal(body, &env)
		mu.Lock()
		if env.Type == streams.CheckpointType {
			checkpoints = append(checkpoints, env)
		} else {
			ids = append(ids, env.ID)
		}
		mu.Unlock()
	}))
	defer hook.Close()
	dest, err := streams.ParseDestination(hook.URL + "/accountd")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, nil, func(c *serve.Config) {
		c.Streams = []streams.Config{{Name: "helpdesk", Destination: dest, Secret: secret, RetryFirst: 10 * time.Millisecond}}
		c.CheckpointEvery, c.CheckpointInterval = 1, 50*time.Millisecond
	})
	res := e.post("/v1/properties", api.RoleAdmin, map[string]string{"name": "Hôtel du Lac", "primary_contact_email": "direction@lac.example"})
	if res.status != http.StatusCreated {
		t.Fatalf("create property: %d %s", res.status, res.raw)
	}
	res = e.post("/v1/accounts", api.RoleLoginService, map[string]string{"email": "anna@lac.example", "password": goodPassword, "property_id": res.str("property_id")})
	if res.status != http.StatusCreated {
		t.Fatalf("register: %d %s", res.status, res.raw)
	}
	s, _ := e.srv.Streams().Stream("helpdesk")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	e.outboxSettled() // the activation mail's delivery record is in the log too
	head, _ := e.srv.Store().HeadPosition(ctx)
	if err := s.WaitFor(ctx, head); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	first := append([]string(nil), ids...)
	mu.Unlock()
	if uint64(len(first)) != head {
		t.Fatalf("%d envelopes for %d events", len(first), head)
	}

	list := e.get("/v1/admin/streams", api.RoleAdmin)
	if list.status != http.StatusOK || !strings.Contains(string(list.raw), `"name":"helpdesk"`) || !strings.Contains(string(list.raw), `"kind":"webhook"`) {
		t.Fatalf("GET /v1/admin/streams: %d %s", list.status, list.raw)
	}
	if res := e.get("/v1/admin/streams", api.RoleSecurity); res.status != http.StatusForbidden {
		t.Fatalf("a security token lists the streams: %d", res.status)
	}
	if m := scrape(t, e); !strings.Contains(m, `accountd_stream_position{kind="webhook",stream="helpdesk"}`) || !strings.Contains(m, `accountd_stream_paused{kind="webhook",stream="helpdesk"} 0`) {
		t.Fatalf("/metrics lacks the stream:\n%s", m)
	}

	for _, tc := range []struct {
		path   string
		body   string
		status int
		code   domain.Code
	}{
		{"/v1/admin/streams/nope/reset", `{"from":1}`, http.StatusNotFound, api.CodeUnknownStream},
		{"/v1/admin/streams/helpdesk/reset", `{"from":999999}`, http.StatusBadRequest, api.CodePositionBeyondHead},
		{"/v1/admin/streams/helpdesk/reset", `{}`, http.StatusBadRequest, api.CodeInvalidRequest},
	} {
		if res := e.post(tc.path, api.RoleAdmin, tc.body); res.status != tc.status || res.errCode() != tc.code {
			t.Errorf("POST %s %s: %d %s", tc.path, tc.body, res.status, res.raw)
		}
	}
	if res := e.post("/v1/admin/streams/helpdesk/reset", api.RoleAdmin, `{"from":1}`); res.status != http.StatusOK {
		t.Fatalf("reset: %d %s", res.status, res.raw)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(ids)
		mu.Unlock()
		if n >= 2*len(first) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the reset %d envelopes, want %d", n-len(first), len(first))
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, id := range first {
		if ids[len(first)+i] != id {
			t.Fatalf("replayed envelope %d has ID %s, first sent as %s", i, ids[len(first)+i], id)
		}
	}

	// The log's signed checkpoints went out too, and verify under the server's key.
	if len(checkpoints) == 0 {
		t.Fatal("no signed checkpoint came through the stream")
	}
	var cp streams.CheckpointEvent
	last := checkpoints[len(checkpoints)-1]
	if err := json.Unmarshal(last.Data.Event, &cp); err != nil {
		t.Fatal(err)
	}
	opened, _, err := transparency.OpenCheckpoint([]byte(cp.Note), e.srv.Checkpoints().Verifiers()...)
	if err != nil || uint64(opened.Size) != cp.Size || cp.Size == 0 || cp.Size > head {
		t.Fatalf("checkpoint %+v: %+v, %v", cp, opened, err)
	}
}
