package detectors_test

import (
	"accountd/eventstore/eventlog"
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"accountd/domain"
	"accountd/eventstore"
	"accountd/projections"
	"accountd/projections/detectors"
	"github.com/google/uuid"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// action is one call the detectors made.
type action struct {
	kind      string // suspicious, throttle, property
	commandID string
	subject   string // account, address or property
	rule      string
	disable   bool
	until     time.Time
}

type recorder struct {
	mu   sync.Mutex
	acts []action
	fail error // returned (after recording) while set
}

func (r *recorder) actions() detectors.Actions { return r }

func (r *recorder) add(a action) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.acts = append(r.acts, a)
	return r.fail
}

func (r *recorder) RecordSuspiciousActivity(_ context.Context, m domain.Metadata, id, rule string, _ domain.Evidence, disable bool) error {
	return r.add(action{kind: "suspicious", commandID: m.CommandID, subject: id, rule: rule, disable: disable})
}

func (r *recorder) ThrottleAddress(_ context.Context, m domain.Metadata, c domain.ThrottleAddress) error {
	return r.add(action{kind: "throttle", commandID: m.CommandID, subject: c.IP, rule: c.Rule, until: c.Until})
}

func (r *recorder) RecordPropertyAttack(_ context.Context, m domain.Metadata, d domain.PropertyAttackDetected) error {
	return r.add(action{kind: "property", commandID: m.CommandID, subject: d.PropertyID, rule: d.Rule})
}

// feed builds a log of synthetic events, one per step, each at its own offset from t0.
type step struct {
	after  time.Duration
	stream string
	data   domain.Payload
}

func decoded(steps []step) []eventlog.Decoded {
	out := make([]eventlog.Decoded, len(steps))
	for i, s := range steps {
		out[i] = eventlog.Decoded{
			Event:    domain.Event{At: t0.Add(s.after), Data: s.data},
			Recorded: eventstore.RecordedEvent{ID: uuid.NewSHA1(uuid.NameSpaceOID, fmt.Appendf(nil, "%d", i)), Stream: s.stream, Position: uint64(i + 1)},
		}
	}
	return out
}

func openDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := projections.OpenDB(filepath.Join(t.TempDir(), "read.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newDetectors(t *testing.T, db *sql.DB, rec *recorder, policy domain.DetectorPolicy, now time.Time) *detectors.Detectors {
	t.Helper()
	d, err := detectors.New(detectors.Config{Policy: policy, Actions: rec.actions(), Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range d.Schema() {
		if _, err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Load(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	return d
}

// applyEach applies events one per transaction, as a runner following a slow log would.
func applyEach(t *testing.T, db *sql.DB, d *detectors.Detectors, evs []eventlog.Decoded) {
	t.Helper()
	for i := range evs {
		tx, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		publish, err := d.Apply(context.Background(), tx, evs[i:i+1])
		if err != nil {
			tx.Rollback()
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		publish()
	}
}

func login(ip, device, session string) domain.LoginSucceeded {
	return domain.LoginSucceeded{Origin: domain.Origin{IP: ip, DeviceID: device}, SessionID: session}
}

func wrong(ip string) domain.LoginFailed {
	return domain.LoginFailed{Origin: domain.Origin{IP: ip}, Reason: domain.ReasonInvalidCredentials, FailedAttempts: 1}
}

func TestRules(t *testing.T) {
	def := domain.DefaultDetectorPolicy()
	var stuffing []step
	for i := range 10 {
		stuffing = append(stuffing, step{time.Duration(i) * time.Second, fmt.Sprintf("unknown-email-h%d", i), domain.UnknownEmailLoginFailed{EmailHash: fmt.Sprintf("h%d", i), Origin: domain.Origin{IP: "203.0.113.9"}}})
	}
	var spraying []step
	for i := range 5 {
		id := fmt.Sprintf("acc%d", i)
		spraying = append(spraying, step{0, "account-" + id, domain.AccountRegistered{AccountID: id, PropertyID: "lac"}})
	}
	for i := range 5 {
		spraying = append(spraying, step{time.Duration(i) * time.Minute, fmt.Sprintf("account-acc%d", i), wrong("198.51.100.7")})
	}
	// Erased values are absent, never one address or device: ten unknown e-mails whose
	// addresses were erased throttle nothing, and an erased account's failures leave the
	// window of the address they came from.
	var erasedStuffing []step
	for i := range 10 {
		erasedStuffing = append(erasedStuffing, step{time.Duration(i) * time.Second, fmt.Sprintf("unknown-email-h%d", i), domain.UnknownEmailLoginFailed{EmailHash: domain.Erased, Origin: domain.Origin{IP: domain.Erased}}})
	}
	var erasedHashes []step // the keyed hash is personal data too: the stream names the address
	for i := range 10 {
		erasedHashes = append(erasedHashes, step{time.Duration(i) * time.Second, fmt.Sprintf("unknown-email-k%d", i), domain.UnknownEmailLoginFailed{EmailHash: domain.Erased, Origin: domain.Origin{IP: "203.0.113.60"}}})
	}
	var forgotten []step
	for i := range 5 {
		forgotten = append(forgotten, step{0, fmt.Sprintf("account-f%d", i), wrong("203.0.113.50")})
	}
	forgotten = append(forgotten, step{time.Second, "account-f0", domain.AccountErased{Reason: "r"}})
	for i := 5; i < 10; i++ {
		forgotten = append(forgotten, step{2 * time.Second, fmt.Sprintf("unknown-email-g%d", i), domain.UnknownEmailLoginFailed{EmailHash: fmt.Sprintf("g%d", i), Origin: domain.Origin{IP: "203.0.113.50"}}})
	}
	tests := []struct {
		name  string
		steps []step
		want  []action
	}{
		{"erased addresses are not one address", erasedStuffing, nil},
		{"erased e-mail hashes are still ten e-mails", erasedHashes, []action{{kind: "throttle", subject: "203.0.113.60", rule: domain.RuleCredentialStuffing, until: t0.Add(9*time.Second + def.StuffingCoolOff.Std())}}},
		{"an erased account's failures no longer count", forgotten, nil},
		{"the same failures without the erasure throttle", slices.DeleteFunc(slices.Clone(forgotten), func(s step) bool { _, ok := s.data.(domain.AccountErased); return ok }),
			[]action{{kind: "throttle", subject: "203.0.113.50", rule: domain.RuleCredentialStuffing, until: t0.Add(2*time.Second + def.StuffingCoolOff.Std())}}},
		{"erased sessions are not two devices", []step{
			{0, "account-a", login(domain.Erased, domain.Erased, "s1")},
			{0, "account-a", domain.SessionStarted{SessionID: "s1", ExpiresAt: t0.Add(15 * time.Hour)}},
			{3 * time.Minute, "account-a", login(domain.Erased, "phone", "s2")},
		}, nil},
		{"two devices within the window disable", []step{
			{0, "account-a", login("192.0.2.1", "tablet", "s1")},
			{0, "account-a", domain.SessionStarted{SessionID: "s1", ExpiresAt: t0.Add(15 * time.Hour)}},
			{3 * time.Minute, "account-a", login("192.0.2.99", "phone", "s2")},
		}, []action{{kind: "suspicious", subject: "a", rule: domain.RuleSharedAccount, disable: true}}},
		{"same device and address is not shared", []step{
			{0, "account-a", login("192.0.2.1", "tablet", "s1")},
			{time.Minute, "account-a", login("192.0.2.1", "tablet", "s2")},
		}, nil},
		{"second login after the window is not shared", []step{
			{0, "account-a", login("192.0.2.1", "tablet", "s1")},
			{11 * time.Minute, "account-a", login("192.0.2.2", "phone", "s2")},
		}, nil},
		{"second login after the first session ended is not shared", []step{
			{0, "account-a", login("192.0.2.1", "tablet", "s1")},
			{time.Minute, "account-a", domain.SessionEnded{SessionID: "s1", Cause: "logout"}},
			{2 * time.Minute, "account-a", login("192.0.2.2", "phone", "s2")},
		}, nil},
		{"ten unknown e-mails from one address throttle it", stuffing, []action{{kind: "throttle", subject: "203.0.113.9", rule: domain.RuleCredentialStuffing, until: t0.Add(9*time.Second + def.StuffingCoolOff.Std())}}},
		{"nine e-mails do not", stuffing[:9], nil},
		{"five accounts of a property from one address", spraying, []action{{kind: "property", subject: "lac", rule: domain.RulePasswordSpraying}}},
		{"two MFA cooldowns within an hour disable", []step{
			{0, "account-m", domain.MFACooldownStarted{Until: t0.Add(time.Minute), FailedAttempts: 5}},
			{40 * time.Minute, "account-m", domain.MFACooldownStarted{Until: t0.Add(41 * time.Minute), FailedAttempts: 5}},
		}, []action{{kind: "suspicious", subject: "m", rule: domain.RuleMFAGuessing, disable: true}}},
		{"two MFA cooldowns two hours apart do not", []step{
			{0, "account-m", domain.MFACooldownStarted{Until: t0.Add(time.Minute)}},
			{2 * time.Hour, "account-m", domain.MFACooldownStarted{Until: t0.Add(121 * time.Minute)}},
		}, nil},
		{"new device right after a reset is recorded for review", []step{
			{0, "account-r", login("192.0.2.1", "laptop", "s1")},
			{time.Minute, "account-r", domain.SessionEnded{SessionID: "s1", Cause: "logout"}},
			{2 * time.Hour, "account-r", domain.PasswordChanged{Cause: domain.PasswordChangedByReset}},
			{2*time.Hour + 10*time.Minute, "account-r", login("192.0.2.1", "unknown-phone", "s2")},
		}, []action{{kind: "suspicious", subject: "r", rule: domain.RuleNewDeviceAfterRecovery, disable: false}}},
		{"known device after a reset is not", []step{
			{0, "account-r", login("192.0.2.1", "laptop", "s1")},
			{time.Minute, "account-r", domain.SessionEnded{SessionID: "s1", Cause: "logout"}},
			{2 * time.Hour, "account-r", domain.AccountUnlocked{Cause: domain.UnlockByLink}},
			{2*time.Hour + time.Minute, "account-r", login("192.0.2.1", "laptop", "s2")},
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := openDB(t)
			rec := &recorder{}
			d := newDetectors(t, db, rec, def, t0.Add(3*time.Hour))
			applyEach(t, db, d, decoded(tc.steps))
			if len(rec.acts) != len(tc.want) {
				t.Fatalf("actions %+v, want %+v", rec.acts, tc.want)
			}
			for i, w := range tc.want {
				got := rec.acts[i]
				if got.kind != w.kind || got.subject != w.subject || got.rule != w.rule || got.disable != w.disable || !got.until.Equal(w.until) {
					t.Errorf("action %d: %+v, want %+v", i, got, w)
				}
				if got.commandID == "" {
					t.Errorf("action %d without a command ID", i)
				}
			}
		})
	}
}

// The windows survive a restart: half the stuffing before, half after, one throttle; and
// replaying from an older checkpoint (a crash before the commit) gives the same command ID.
func TestWindowsSurviveRestartAndReplayKeepsCommandIDs(t *testing.T) {
	var steps []step
	for i := range 10 {
		steps = append(steps, step{time.Duration(i) * time.Second, fmt.Sprintf("unknown-email-h%d", i), domain.UnknownEmailLoginFailed{EmailHash: fmt.Sprintf("h%d", i), Origin: domain.Origin{IP: "203.0.113.9"}}})
	}
	evs := decoded(steps)
	db := openDB(t)
	rec := &recorder{}
	applyEach(t, db, newDetectors(t, db, rec, domain.DefaultDetectorPolicy(), t0), evs[:5])
	applyEach(t, db, newDetectors(t, db, rec, domain.DefaultDetectorPolicy(), t0), evs[5:9]) // restarted
	// A crash after the action, before the commit: the batch fails and is retried.
	rec.fail = fmt.Errorf("disk on fire")
	d := newDetectors(t, db, rec, domain.DefaultDetectorPolicy(), t0)
	tx, _ := db.Begin()
	if _, err := d.Apply(context.Background(), tx, evs[9:]); err == nil {
		t.Fatal("a failing action did not fail the batch")
	}
	tx.Rollback()
	rec.fail = nil
	applyEach(t, db, newDetectors(t, db, rec, domain.DefaultDetectorPolicy(), t0), evs[9:])
	if len(rec.acts) != 2 || rec.acts[0].commandID != rec.acts[1].commandID || rec.acts[0].commandID != detectors.CommandID(domain.RuleCredentialStuffing, evs[9].Recorded.ID.String()) {
		t.Fatalf("actions %+v: want the same deterministic command twice (the retry is deduplicated downstream)", rec.acts)
	}
}

// Events older than the act horizon (a rebuild, or detectors deployed on an old log)
// update the windows but never act.
func TestStaleHistoryDoesNotAct(t *testing.T) {
	db := openDB(t)
	rec := &recorder{}
	d := newDetectors(t, db, rec, domain.DefaultDetectorPolicy(), t0.Add(48*time.Hour))
	applyEach(t, db, d, decoded([]step{
		{0, "account-a", login("192.0.2.1", "tablet", "s1")},
		{time.Minute, "account-a", login("192.0.2.2", "phone", "s2")},
	}))
	if len(rec.acts) != 0 {
		t.Fatalf("acted on stale history: %+v", rec.acts)
	}
}

func TestPolicyValidation(t *testing.T) {
	tests := []struct {
		name   string
		change func(*domain.DetectorPolicy)
		ok     bool
	}{
		{"defaults", func(*domain.DetectorPolicy) {}, true},
		{"zero window", func(p *domain.DetectorPolicy) { p.SharedAccountWindow = 0 }, false},
		{"window over a day", func(p *domain.DetectorPolicy) { p.StuffingWindow = domain.Duration(25 * time.Hour) }, false},
		{"one e-mail is not stuffing", func(p *domain.DetectorPolicy) { p.StuffingDistinctEmails = 1 }, false},
		{"no address", func(p *domain.DetectorPolicy) { p.SprayingMaxAddresses = 0 }, false},
	}
	for _, tc := range tests {
		p := domain.DefaultDetectorPolicy()
		tc.change(&p)
		err := p.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
		if err != nil && domain.ErrorCode(err) != domain.CodeInvalidPolicy {
			t.Errorf("%s: code %q", tc.name, domain.ErrorCode(err))
		}
	}
}

// Expired address windows are swept from memory and from detector_state.
func TestExpiredWindowsAreSwept(t *testing.T) {
	db := openDB(t)
	rec := &recorder{}
	d := newDetectors(t, db, rec, domain.DefaultDetectorPolicy(), t0)
	applyEach(t, db, d, decoded([]step{
		{0, "unknown-email-x", domain.UnknownEmailLoginFailed{EmailHash: "x", Origin: domain.Origin{IP: "203.0.113.1"}}},
		{time.Second, "unknown-email-y", domain.UnknownEmailLoginFailed{EmailHash: "y", Origin: domain.Origin{IP: "203.0.113.2"}}},
		{12 * time.Minute, "unknown-email-z", domain.UnknownEmailLoginFailed{EmailHash: "z", Origin: domain.Origin{IP: "203.0.113.3"}}},
	}))
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM detector_state WHERE kind = 'i'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d address windows kept, want 1 (the live one)", n)
	}
}
