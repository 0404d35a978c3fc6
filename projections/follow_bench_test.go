package projections_test

import (
	"testing"

	"accountd/commands"
	"accountd/projections"
)

// BenchmarkFollowCommits: the runner's cost a commit when each commit (one refused sign-in)
// is followed as it lands, as on the login path: status and a second projection that writes
// nothing but its checkpoint.
func BenchmarkFollowCommits(b *testing.B) {
	f := newFixture(b)
	f.history(b)
	db := openReadDB(b)
	idle := &flaky{}
	idle.released.Store(true)
	r, err := projections.NewRunner(f.ctx, f.store, db, nil, projections.NewStatus(), idle)
	if err != nil {
		b.Fatal(err)
	}
	ctx := running(b, f.ctx, r)
	b.ResetTimer()
	for b.Loop() {
		res, err := f.svc.Login(f.ctx, commands.Meta{}, commands.LoginAttempt{Email: "staff1@lac.example", Password: "wrong"})
		if err != nil {
			b.Fatal(err)
		}
		for _, name := range []string{projections.StatusName, "flaky"} {
			if err := r.WaitFor(ctx, name, res.LastPosition()); err != nil {
				b.Fatal(err)
			}
		}
	}
}
