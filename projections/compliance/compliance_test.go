package compliance_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"accountd/commands"
	"accountd/commands/credentials"
	"accountd/domain"
	"accountd/eventstore"
	"accountd/eventstore/memory"
	"accountd/projections"
	"accountd/projections/compliance"
)

const day = 24 * time.Hour

// sim drives commands.Service over simulated years with an injected clock.
type sim struct {
	t        *testing.T
	ctx      context.Context
	store    eventstore.Store
	svc      *commands.Service
	policies *commands.PolicyHistory
	db       *sql.DB
	runner   *projections.Runner
	t0, now  time.Time
	pw       map[string]int // account -> password generation
}

func newSim(t *testing.T) *sim {
	t.Helper()
	s := &sim{t: t, ctx: context.Background(), store: memory.New(), pw: map[string]int{}}
	s.t0 = time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC)
	s.now = s.t0
	clock := func() time.Time { return s.now }
	pol := domain.DefaultPolicy()
	pol.MFARequired = false
	if _, err := commands.ChangePolicy(s.ctx, s.store, clock, pol, domain.Actor{Kind: domain.ActorSystem, Note: "test"}); err != nil {
		t.Fatal(err)
	}
	var err error
	if s.policies, err = commands.LoadPolicyHistory(s.ctx, s.store); err != nil {
		t.Fatal(err)
	}
	h, err := credentials.NewHasher(credentials.Argon2Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32})
	if err != nil {
		t.Fatal(err)
	}
	key := bytes.Repeat([]byte{7}, 32)
	mfa, _ := credentials.NewMFA(key, "test")
	links, _ := credentials.NewLinkKey(key)
	if s.svc, err = commands.NewService(commands.Config{Store: s.store, Clock: clock, Policy: s.policies.Current, Hasher: h, MFA: mfa, Links: links}); err != nil {
		t.Fatal(err)
	}
	if s.db, err = projections.OpenDB(filepath.Join(t.TempDir(), "read.db")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.db.Close() })
	if s.runner, err = projections.NewRunner(s.ctx, s.store, s.db, nil, compliance.New()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.Property(s.ctx, commands.Meta{}, "lac", domain.CreateProperty{PropertyID: "lac", Name: "Hôtel du Lac", PrimaryContactEmail: "direction@lac.example"}); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *sim) at(days int) { s.now = s.t0.Add(time.Duration(days) * day) }

func password(gen int) string { return fmt.Sprintf("Correct horse battery %d", 100+gen) }

func (s *sim) register(email string) string {
	s.t.Helper()
	reg, err := s.svc.Register(s.ctx, commands.Meta{}, commands.Registration{Email: email, Password: password(0), PropertyID: "lac"})
	if err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.svc.Activate(s.ctx, commands.Meta{}, reg.ActivationToken); err != nil {
		s.t.Fatal(err)
	}
	return reg.AccountID
}

func (s *sim) change(id string) {
	s.t.Helper()
	gen := s.pw[id]
	if _, err := s.svc.ChangePassword(s.ctx, commands.Meta{}, id, password(gen), password(gen+1), domain.Origin{IP: "192.0.2.1"}); err != nil {
		s.t.Fatalf("change password of %s at %s: %v", id, s.now, err)
	}
	s.pw[id] = gen + 1
}

func (s *sim) catchUp() {
	s.t.Helper()
	if err := s.runner.CatchUp(s.ctx); err != nil {
		s.t.Fatal(err)
	}
	if err := s.policies.Refresh(s.ctx, s.store); err != nil {
		s.t.Fatal(err)
	}
}

func (s *sim) rotation(q compliance.Query) map[string]compliance.RotationRow {
	s.t.Helper()
	out := map[string]compliance.RotationRow{}
	if err := compliance.Rotation(s.ctx, s.db, s.policies, q, func(r compliance.RotationRow) error {
		out[r.Email] = r
		return nil
	}); err != nil {
		s.t.Fatal(err)
	}
	return out
}

// TestRotationOverTwoYears: a rotation every 80 days is compliant, one gap of 120 days is
// flagged with its 30 days beyond the 90-day maximum, and a policy change in the middle of
// the period is listed with the policies in force.
func TestRotationOverTwoYears(t *testing.T) {
	s := newSim(t)
	rotator := s.register("rotator@lac.example")
	lapser := s.register("lapser@lac.example")
	disabled := s.register("disabled@lac.example")
	rotatorDays := map[int]bool{}
	for d := 80; d <= 730; d += 80 {
		rotatorDays[d] = true
	}
	lapserDays := map[int]bool{80: true, 160: true, 240: true, 320: true, 400: true, 520: true, 600: true, 680: true}
	for d := 1; d <= 730; d++ {
		s.at(d)
		if rotatorDays[d] {
			s.change(rotator)
		}
		if lapserDays[d] {
			s.change(lapser)
		}
		switch d {
		case 85:
			s.change(disabled)
		case 680:
			s.register("newcomer@lac.example")
		case 545:
			p := s.policies.Current()
			p.PasswordHistoryDepth, p.PasswordMinLength = 6, 14
			if _, err := commands.ChangePolicy(s.ctx, s.store, func() time.Time { return s.now }, p, domain.Actor{Kind: domain.ActorSupport, Reference: "CHG-42"}); err != nil {
				t.Fatal(err)
			}
			s.catchUp()
		case 600:
			if _, err := s.svc.Disable(s.ctx, commands.Meta{}, disabled, domain.DisableAccount{Kind: domain.DisableManual, Actor: domain.Actor{Kind: domain.ActorSupport, Reference: "REQ-7"}}); err != nil {
				t.Fatal(err)
			}
		case 700:
			for range 2 {
				if _, err := s.svc.Login(s.ctx, commands.Meta{}, commands.LoginAttempt{Email: "rotator@lac.example", Password: "wrong", Origin: domain.Origin{IP: "203.0.113.9", UserAgent: "curl"}}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	s.catchUp()
	q := compliance.Query{PropertyID: "lac", From: s.t0.Add(365 * day), To: s.t0.Add(730 * day)}
	rows := s.rotation(q)

	tests := []struct {
		email                                 string
		verdict                               string
		changes, longest, beyond, ageAtTo, hd int
	}{
		{"rotator@lac.example", compliance.VerdictCompliant, 5, 80, 0, 10, 6},
		{"lapser@lac.example", compliance.VerdictNonCompliant, 4, 120, 30, 50, 6},
		{"newcomer@lac.example", compliance.VerdictCreatedInPeriod, 1, 50, 0, 50, 6},
		{"disabled@lac.example", compliance.VerdictDisabled, 0, 645, 365, 645, 4},
	}
	for _, tc := range tests {
		t.Run(tc.email, func(t *testing.T) {
			r, ok := rows[tc.email]
			if !ok {
				t.Fatalf("no row; rows: %v", rows)
			}
			got := []int{len(r.Changes), r.LongestIntervalDays, r.DaysBeyondMaxAge, r.PasswordAgeDaysAtTo, r.HistoryDepth}
			want := []int{tc.changes, tc.longest, tc.beyond, tc.ageAtTo, tc.hd}
			if r.Verdict != tc.verdict || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("verdict %s, [changes longest beyond age depth] %v; want %s, %v", r.Verdict, got, tc.verdict, want)
			}
		})
	}
	if c := rows["rotator@lac.example"].Changes; len(c) == 0 || c[0].Cause != domain.PasswordChangedBySelf {
		t.Errorf("rotator's changes: %+v", c)
	}

	t.Run("csv", func(t *testing.T) {
		var buf bytes.Buffer
		if err := compliance.WriteRotationCSV(s.ctx, &buf, s.db, s.policies, q); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 5 || strings.Join(recs[0], ",") != strings.Join(compliance.RotationHeader, ",") {
			t.Fatalf("records: %q", recs)
		}
	})
	t.Run("json lists the policy change", func(t *testing.T) {
		var buf bytes.Buffer
		if err := compliance.WriteRotationJSON(s.ctx, &buf, s.db, s.policies, q, s.now); err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Policies []commands.PolicyVersion `json:"policies_in_force"`
			Rows     []compliance.RotationRow `json:"rows"`
		}
		if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
			t.Fatalf("%v\n%s", err, buf.String())
		}
		if len(doc.Rows) != 4 || len(doc.Policies) != 2 || doc.Policies[1].Policy.PasswordHistoryDepth != 6 || doc.Policies[1].Actor.Reference != "CHG-42" {
			t.Fatalf("rows %d, policies %+v", len(doc.Rows), doc.Policies)
		}
	})
	t.Run("access log", func(t *testing.T) {
		var got []compliance.AccessRow
		aq := compliance.Query{PropertyID: "lac", From: s.t0.Add(699 * day), To: s.t0.Add(701 * day)}
		if err := compliance.AccessLog(s.ctx, s.db, aq, func(r compliance.AccessRow) error { got = append(got, r); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Event != "login_failed.v1" || got[0].Outcome != "failure" || got[0].IP != "203.0.113.9" || got[0].AccountID != rotator {
			t.Fatalf("access log: %+v", got)
		}
		var buf bytes.Buffer
		aq.From = s.t0
		if err := compliance.WriteAccessCSV(s.ctx, &buf, s.db, aq); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), "password_changed.v1,success,lapser@lac.example,"+lapser) {
			t.Errorf("no credential change in the access log:\n%.400s", buf.String())
		}
	})
}

func TestInactivitySweepIsIdempotent(t *testing.T) {
	s := newSim(t)
	idle := s.register("idle@lac.example")
	busy := s.register("busy@lac.example")
	for d := 1; d <= 200; d++ {
		s.at(d)
		if d%30 == 0 {
			if _, err := s.svc.Login(s.ctx, commands.Meta{}, commands.LoginAttempt{Email: "busy@lac.example", Password: password(s.pw[busy])}); err != nil {
				t.Fatal(err)
			}
			// Passwords expire at 90 days; a change keeps the busy account able to log in.
			s.change(busy)
		}
	}
	s.catchUp()
	for i, want := range []int{1, 0} {
		res, err := compliance.SweepInactive(s.ctx, s.db, s.svc)
		if err != nil {
			t.Fatal(err)
		}
		if res.Disabled != want {
			t.Errorf("sweep %d disabled %d, want %d", i, res.Disabled, want)
		}
		// What the sweep looked at, and (the second time) why nothing was due.
		now := s.svc.Now()
		if !res.Cutoff.Equal(now.Add(-s.svc.Policy().InactivityDisableAfter.Std())) {
			t.Errorf("sweep %d: cutoff %v, want now minus inactivity_disable_after", i, res.Cutoff)
		}
		if i == 1 && (res.Watched < 1 || res.Examined != 0 || !res.NextDueAt.After(now)) {
			t.Errorf("second sweep: %+v, want the busy account watched, none examined, the next due later", res)
		}
		s.catchUp()
	}
	a, err := s.svc.LoadAccount(s.ctx, idle)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Disabled[domain.DisableInactivity]; !ok {
		t.Errorf("idle account not disabled for inactivity: %+v", a.Disabled)
	}
	b, _ := s.svc.LoadAccount(s.ctx, busy)
	if len(b.Disabled) != 0 {
		t.Errorf("busy account disabled: %+v", b.Disabled)
	}
}

func TestQueryValidation(t *testing.T) {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		q     compliance.Query
		field string
	}{
		{"no property", compliance.Query{From: from, To: from.Add(day)}, "property_id"},
		{"no from", compliance.Query{PropertyID: "p", To: from}, "from"},
		{"inverted", compliance.Query{PropertyID: "p", From: from, To: from}, "to"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.q.Validate(true)
			pe, ok := err.(*compliance.ParamError)
			if !ok || pe.Field != tc.field || pe.Code() != "invalid_params" {
				t.Fatalf("got %v, want a ParamError on %s", err, tc.field)
			}
		})
	}
}

// A past period is reported as it was: Anna was disabled through the end of 2025 and
// re-enabled in 2026; Bruno left the hotel in 2026 and Carla arrived then. The 2025 report
// lists Anna as disabled and Bruno as a member; the 2026 one lists Anna active, no Bruno, and
// Carla. The access log of 2025 still has Bruno's failed sign-in.
func TestReportsShowMembersAndDisablesOfTheirTime(t *testing.T) {
	s := newSim(t)
	support := domain.Actor{Kind: domain.ActorSupport, Reference: "REQ-9"}
	anna, bruno := s.register("anna@lac.example"), s.register("bruno@lac.example")
	s.at(30)
	if _, err := s.svc.Login(s.ctx, commands.Meta{}, commands.LoginAttempt{Email: "bruno@lac.example", Password: "not his", Origin: domain.Origin{IP: "192.0.2.9"}}); err != nil {
		t.Fatal(err)
	}
	s.at(200)
	if _, err := s.svc.Disable(s.ctx, commands.Meta{}, anna, domain.DisableAccount{Kind: domain.DisableManual, Actor: support}); err != nil {
		t.Fatal(err)
	}
	s.at(380)
	if _, err := s.svc.Enable(s.ctx, commands.Meta{}, anna, domain.EnableAccount{Kind: domain.DisableManual, Actor: support}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.RemoveMember(s.ctx, commands.Meta{}, "lac", bruno, support); err != nil {
		t.Fatal(err)
	}
	s.at(400)
	s.register("carla@lac.example")
	s.at(500)
	s.catchUp()

	y2025 := compliance.Query{PropertyID: "lac", From: s.t0, To: s.t0.Add(364 * day)}
	y2026 := compliance.Query{PropertyID: "lac", From: s.t0.Add(390 * day), To: s.t0.Add(499 * day)}
	cases := []struct {
		name   string
		q      compliance.Query
		want   map[string]string // e-mail -> disabled column
		absent []string
	}{
		{"2025", y2025, map[string]string{"anna@lac.example": domain.DisableManual, "bruno@lac.example": ""}, []string{"carla@lac.example"}},
		{"2026", y2026, map[string]string{"anna@lac.example": "", "carla@lac.example": ""}, []string{"bruno@lac.example"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rows := s.rotation(tc.q)
			for email, disabled := range tc.want {
				r, ok := rows[email]
				if !ok {
					t.Fatalf("%s missing from the report: %v", email, rows)
				}
				if r.Disabled != disabled || (disabled != "") != (r.Verdict == compliance.VerdictDisabled) {
					t.Errorf("%s: disabled %q, verdict %s; want disabled %q", email, r.Disabled, r.Verdict, disabled)
				}
			}
			for _, email := range tc.absent {
				if _, ok := rows[email]; ok {
					t.Errorf("%s listed, was not a member in the period", email)
				}
			}
		})
	}
	var brunoFailures int
	if err := compliance.AccessLog(s.ctx, s.db, y2025, func(r compliance.AccessRow) error {
		if r.AccountID == bruno && r.Outcome == "failure" {
			brunoFailures++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if brunoFailures != 1 {
		t.Fatalf("Bruno's failed sign-in of 2025 in the hotel's access log: %d, want 1", brunoFailures)
	}
}
