package serve_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"accountd/http/api"
	"accountd/http/client"
)

// contractTransport holds the typed client to the document too: each exchange it carries
// is checked as env.call checks its own.
type contractTransport struct {
	t    *testing.T
	next http.RoundTripper
}

func (c contractTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var sent []byte
	if req.Body != nil {
		sent, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(sent))
	}
	resp, err := c.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	if err := checkContract(req.Method, req.URL.RequestURI(), req.Header, sent, resp.StatusCode, resp.Header, raw); err != nil {
		c.t.Error(err)
	}
	return resp, nil
}

// client returns the typed client of this server under a role's token.
func (e *env) client(role api.Role) *client.Client {
	hc := &http.Client{Transport: contractTransport{t: e.t, next: e.ts.Client().Transport}}
	return client.New(e.ts.URL, e.tokens[role], hc)
}

// The typed client drives a newcomer's whole first hour: a hotel, a member, activation,
// sign-in, the session, a future status, the lists, logout, and typed errors.
func TestTypedClient(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	admin, ls := e.client(api.RoleAdmin), e.client(api.RoleLoginService)

	prop, err := admin.CreateProperty(ctx, "Hotel Riva", "direction@riva.example")
	if err != nil {
		t.Fatal(err)
	}
	const addr, password = "vera@riva.example", "Morning tide on the lake 7"
	reg, err := ls.Register(ctx, client.Registration{Email: addr, Password: password, PropertyID: prop.PropertyID})
	if err != nil || reg.Status != "pending_activation" {
		t.Fatalf("register: %+v %v", reg, err)
	}
	if _, err := ls.Activate(ctx, e.mail.link(addr, "activation")); err != nil {
		t.Fatal(err)
	}
	in, err := ls.Login(ctx, client.Login{Email: addr, Password: password, IP: "192.0.2.30"})
	if err != nil || in.Decision != "allowed" || in.SessionID == "" {
		t.Fatalf("login: %+v %v", in, err)
	}
	s, err := ls.CheckSession(ctx, in.SessionID)
	if err != nil || !s.Valid || !s.ExpiresAt.Equal(in.SessionExpiresAt) {
		t.Fatalf("session %+v (login said it expires %v): %v", s, in.SessionExpiresAt, err)
	}
	st, err := ls.StatusAt(ctx, reg.AccountID, client.ReadAfter(in.Position), e.clock.Now().Add(100*24*time.Hour))
	if err != nil || st.Status != "disabled" || st.PasswordExpiresAt == nil {
		t.Fatalf("status in 100 days: %+v %v", st, err)
	}
	props, err := admin.FindProperties(ctx, client.PropertyQuery{Name: "riva", After: client.ReadAfter(in.Position)})
	if err != nil || len(props.Properties) != 1 || props.Properties[0].Members != 1 {
		t.Fatalf("find properties: %+v %v", props, err)
	}
	members, err := admin.Members(ctx, prop.PropertyID, "", 10, client.ReadAfter(in.Position))
	if err != nil || len(members.Members) != 1 || members.Members[0].Email != addr {
		t.Fatalf("members: %+v %v", members, err)
	}
	if _, err := ls.Logout(ctx, in.SessionID); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		call func() error
		code string
		http int
	}{
		{"a logged-out session", func() error { _, err := ls.CheckSession(ctx, in.SessionID); return err }, "session_not_found", http.StatusNotFound},
		{"the wrong role", func() error { _, err := ls.FindProperties(ctx, client.PropertyQuery{}); return err }, "forbidden", http.StatusForbidden},
		{"a weak password", func() error {
			_, err := ls.Register(ctx, client.Registration{Email: "weak@riva.example", Password: "short"})
			return err
		}, "password_rejected", http.StatusUnprocessableEntity},
	} {
		err := tc.call()
		e, ok := err.(*client.Error)
		if !ok || e.Code != tc.code || e.Status != tc.http {
			t.Errorf("%s: %v, want %d %s", tc.name, err, tc.http, tc.code)
		}
	}
}
