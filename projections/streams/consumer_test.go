package streams_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"accountd/domain"
	"accountd/projections"
)

// TestJetStreamConsumerRebuildsEveryAccountStatus is the consumer a SIEM or the property
// system writes: it reads only the JetStream stream, folds each subject's events with the
// domain's own evolve functions, and must agree with the status projection on every account.
func TestJetStreamConsumerRebuildsEveryAccountStatus(t *testing.T) {
	server := natsURL(t)
	f := newLog(t)
	ids := f.story(t)
	logins(t, f.store, 200, f.now)
	subject, stream, js := jetStreamTarget(t, server)
	set := openSet(t, f.store, t.TempDir(), time.Now, jetStreamConfig(t, "pms", server, subject, stream))
	caughtUp(t, set, "pms", f.store)

	accounts := map[string]domain.Account{}
	properties := map[string]domain.Property{}
	for _, env := range storedEnvelopes(t, js, stream, subject) {
		payload, err := domain.DecodePayload(env.Data.EventType, env.Data.Event)
		if err != nil {
			t.Fatal(err)
		}
		e := domain.Event{At: env.Time, Data: payload}
		switch {
		case strings.HasPrefix(env.Subject, "account-"):
			accounts[env.Data.AccountID] = domain.EvolveAccount(accounts[env.Data.AccountID], e)
		case strings.HasPrefix(env.Subject, "property-"):
			properties[env.Data.PropertyID] = domain.EvolveProperty(properties[env.Data.PropertyID], e)
		}
	}

	db, err := projections.OpenDB(filepath.Join(t.TempDir(), "rm.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	status := projections.NewStatus()
	runner, err := projections.NewRunner(f.ctx, f.store, db, nil, status)
	if err != nil {
		t.Fatal(err)
	}
	if err := runner.CatchUp(f.ctx); err != nil {
		t.Fatal(err)
	}
	now, policy := f.now.Add(time.Minute), domain.DefaultPolicy()
	seen := map[string]bool{}
	for id, a := range accounts {
		if !a.Registered {
			continue // the bulk sign-ins of accounts that were never registered
		}
		var props []domain.Property
		for _, p := range a.Properties {
			props = append(props, properties[p])
		}
		got := domain.EvaluateStatus(a, props, now, policy)
		want, ok := status.AccountStatus(id, now, policy)
		if !ok {
			t.Fatalf("the status projection does not know %s", id)
		}
		if got.Status != want.Status.Status || !sameReasons(got.Reasons, want.Status.Reasons) || got.FailedAttempts != want.Status.FailedAttempts {
			t.Errorf("%s (%s): from JetStream %s %+v, the projection says %s %+v", id, a.Email, got.Status, got.Reasons, want.Status.Status, want.Status.Reasons)
		}
		seen[id] = true
	}
	for _, id := range ids {
		if !seen[id] {
			t.Errorf("account %s never came through the stream", id)
		}
	}
	// The story leaves accounts in different states, so agreeing means something.
	kinds := map[string]bool{}
	for _, id := range ids {
		v, _ := status.AccountStatus(id, now, policy)
		kinds[v.Status.Status] = true
	}
	if len(kinds) < 2 {
		t.Fatalf("every account ends in the same status %v: the comparison proves little", kinds)
	}
}

func sameReasons(a, b []domain.Reason) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Code != b[i].Code || !a[i].Since.Equal(b[i].Since) || a[i].PropertyID != b[i].PropertyID {
			return false
		}
	}
	return true
}
