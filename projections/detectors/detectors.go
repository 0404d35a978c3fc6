// Package detectors follows the log and acts on suspicious patterns (R3) through commands:
// shared accounts, credential stuffing, password spraying, MFA guessing and a new device
// right after a recovery. It is a projections.Projection, so the runner gives it what every
// read model has: a checkpoint, a restart from it, a rebuild from the start of the log.
//
// Idempotence. A detection acts through a command whose ID is derived from the triggering
// event's ID ("detector/<rule>/<event id>"). The command layer recognises a command ID it
// has applied, and the store refuses an event ID it holds (event IDs derive from command
// IDs), so an action repeated after a crash (command written, checkpoint not yet committed)
// or after a rebuild writes nothing new. The throttle and property-detection deciders are
// also no-ops when the same detection is already recorded.
//
// Working state. The windows (recent failures per address and per property, open sessions
// and known devices per account, recent MFA cooldowns) are persisted in detector_state rows,
// only the keys a batch touched, in the same SQLite transaction as the checkpoint. We chose
// that over re-reading "the last window" of the log at start because the log is indexed by
// position, not time: finding where the window starts would mean scanning, and a window
// rebuilt from a position guess could miss or double-count the events just before the
// checkpoint. With state and checkpoint committed together, a restart resumes exactly where
// the last commit left, whatever the crash point; a rebuild (Reset) replays everything.
//
// Stale history. Events older than ActHorizon (relative to the clock) update the windows but
// never trigger an action: deploying the detectors on an old log, or rebuilding them, must
// not disable accounts for what happened last year.
package detectors

import (
	"accountd/domain"
	"accountd/eventstore"
	"accountd/eventstore/eventlog"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// Name keys the detectors' checkpoint.
const Name = "detectors"

// DefaultActHorizon bounds how old a triggering event may be for a detection to act.
const DefaultActHorizon = 24 * time.Hour

// maxEvidenceIDs bounds the event IDs one piece of evidence lists.
const maxEvidenceIDs = 50

// maxKnownDevices bounds the devices remembered per account.
const maxKnownDevices = 32

// Actions is the port a detection acts through. The command side implements it
// (commands.DetectionActions, wired by http/serve); tests fake it. cause is the metadata
// the action's events carry: a command ID derived from the rule and the triggering event,
// so a replayed detection writes nothing new, and the triggering event as correlation.
type Actions interface {
	RecordSuspiciousActivity(ctx context.Context, cause domain.Metadata, accountID, rule string, evidence domain.Evidence, disable bool) error
	ThrottleAddress(ctx context.Context, cause domain.Metadata, c domain.ThrottleAddress) error
	RecordPropertyAttack(ctx context.Context, cause domain.Metadata, d domain.PropertyAttackDetected) error
}

// Config configures the detectors.
type Config struct {
	Policy  domain.DetectorPolicy
	Actions Actions
	Clock   func() time.Time
	Logger  *slog.Logger
	// ActHorizon: see the package comment (default DefaultActHorizon).
	ActHorizon time.Duration
}

// Detectors is the projection.
type Detectors struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex // guards the maps against Load racing a reader in tests
	accounts map[string]*accountWindow
	ips      map[string]*ipWindow
	props    map[string]*propertyWindow
	// lastSweep is the event time of the last sweep of expired windows (memory only: a
	// restart sweeps at its first batch).
	lastSweep time.Time
}

// sweepEvery is how much event time passes between sweeps of expired address and property
// windows: one-off addresses (most of a stuffing or spraying run) would otherwise stay in
// memory and in detector_state for ever.
const sweepEvery = time.Minute

// sweep empties the address and property windows that can no longer matter at latest:
// every failure is out of the window and no throttle or firing is recent enough to count.
func (b *batch) sweep(latest time.Time) {
	p := b.d.cfg.Policy
	for ip, w := range b.d.ips {
		if nw, ok := b.ips[ip]; ok {
			w = nw
		}
		if (len(w.Failures) == 0 || w.Failures[len(w.Failures)-1].At.Before(latest.Add(-p.StuffingWindow.Std()))) && w.ThrottledUntil.Before(latest) {
			b.ips[ip] = &ipWindow{}
		}
	}
	for id, w := range b.d.props {
		if nw, ok := b.props[id]; ok {
			w = nw
		}
		if (len(w.Failures) == 0 || w.Failures[len(w.Failures)-1].At.Before(latest.Add(-p.SprayingWindow.Std()))) && w.LastFired.Before(latest.Add(-p.SprayingWindow.Std())) {
			b.props[id] = &propertyWindow{}
		}
	}
}

type stamp struct {
	At      time.Time `json:"at"`
	EventID string    `json:"event_id"`
}

type sessionInfo struct {
	StartedAt time.Time `json:"started_at"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	IP        string    `json:"ip,omitempty"`
	Device    string    `json:"device,omitempty"`
	EventID   string    `json:"event_id"`
}

type accountWindow struct {
	Properties   []string               `json:"properties,omitempty"`
	Sessions     map[string]sessionInfo `json:"sessions,omitempty"`
	KnownDevices []string               `json:"known_devices,omitempty"`
	LoggedIn     bool                   `json:"logged_in,omitempty"`
	Recovery     stamp                  `json:"recovery,omitzero"`
	MFACooldowns []stamp                `json:"mfa_cooldowns,omitempty"`
}

type failure struct {
	At      time.Time `json:"at"`
	Key     string    `json:"key"` // the account or unknown e-mail failed against
	IP      string    `json:"ip,omitempty"`
	EventID string    `json:"event_id"`
}

type ipWindow struct {
	Failures       []failure `json:"failures,omitempty"`
	ThrottledUntil time.Time `json:"throttled_until,omitzero"`
}

type propertyWindow struct {
	Failures  []failure `json:"failures,omitempty"`
	LastFired time.Time `json:"last_fired,omitzero"`
}

// New validates the policy and returns empty detectors.
func New(cfg Config) (*Detectors, error) {
	if err := cfg.Policy.Validate(); err != nil {
		return nil, err
	}
	if cfg.Actions == nil {
		return nil, errors.New("detectors: actions are required")
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ActHorizon <= 0 {
		cfg.ActHorizon = DefaultActHorizon
	}
	return &Detectors{cfg: cfg, log: cfg.Logger, accounts: map[string]*accountWindow{}, ips: map[string]*ipWindow{}, props: map[string]*propertyWindow{}}, nil
}

func (d *Detectors) Name() string     { return Name }
func (d *Detectors) Tables() []string { return []string{"detector_state"} }
func (d *Detectors) Schema() []string {
	return []string{`CREATE TABLE IF NOT EXISTS detector_state (kind TEXT NOT NULL, id TEXT NOT NULL, state BLOB NOT NULL, PRIMARY KEY(kind, id)) WITHOUT ROWID`}
}

// Load reads the persisted windows (committed with the checkpoint, so they agree with it).
func (d *Detectors) Load(ctx context.Context, db *sql.DB) error {
	accounts, ips, props := map[string]*accountWindow{}, map[string]*ipWindow{}, map[string]*propertyWindow{}
	rows, err := db.QueryContext(ctx, `SELECT kind, id, state FROM detector_state`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var kind, id string
		var blob []byte
		if err := rows.Scan(&kind, &id, &blob); err != nil {
			return err
		}
		var target any
		switch kind {
		case "a":
			w := &accountWindow{}
			accounts[id], target = w, w
		case "i":
			w := &ipWindow{}
			ips[id], target = w, w
		case "p":
			w := &propertyWindow{}
			props[id], target = w, w
		default:
			continue
		}
		if err := json.Unmarshal(blob, target); err != nil {
			return fmt.Errorf("detector_state %s/%s: %w", kind, id, err)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	d.mu.Lock()
	d.accounts, d.ips, d.props = accounts, ips, props
	d.mu.Unlock()
	return nil
}

// batch holds copies of the windows one Apply touches: memory changes only when the runner
// has committed them with the checkpoint (publish).
type batch struct {
	d        *Detectors
	ctx      context.Context
	now      time.Time
	accounts map[string]*accountWindow
	ips      map[string]*ipWindow
	props    map[string]*propertyWindow
}

func (b *batch) account(id string) *accountWindow {
	if w, ok := b.accounts[id]; ok {
		return w
	}
	w := &accountWindow{}
	if old, ok := b.d.accounts[id]; ok {
		*w = *old
		w.Properties = slices.Clone(old.Properties)
		w.Sessions = maps.Clone(old.Sessions)
		w.KnownDevices = slices.Clone(old.KnownDevices)
		w.MFACooldowns = slices.Clone(old.MFACooldowns)
	}
	b.accounts[id] = w
	return w
}

func (b *batch) ip(ip string) *ipWindow {
	if w, ok := b.ips[ip]; ok {
		return w
	}
	w := &ipWindow{}
	if old, ok := b.d.ips[ip]; ok {
		*w = *old
		w.Failures = slices.Clone(old.Failures)
	}
	b.ips[ip] = w
	return w
}

func (b *batch) prop(id string) *propertyWindow {
	if w, ok := b.props[id]; ok {
		return w
	}
	w := &propertyWindow{}
	if old, ok := b.d.props[id]; ok {
		*w = *old
		w.Failures = slices.Clone(old.Failures)
	}
	b.props[id] = w
	return w
}

// Apply updates the windows and acts. An action that fails for a reason other than the
// domain refusing it fails the batch: the runner retries it from the checkpoint, and the
// deterministic command IDs make the retried actions no-ops where they already happened.
func (d *Detectors) Apply(ctx context.Context, tx *sql.Tx, events []eventlog.Decoded) (func(), error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	b := &batch{d: d, ctx: ctx, now: d.cfg.Clock().UTC(), accounts: map[string]*accountWindow{}, ips: map[string]*ipWindow{}, props: map[string]*propertyWindow{}}
	var latest time.Time
	for i := range events {
		if err := b.apply(&events[i]); err != nil {
			return nil, err
		}
		if at := events[i].Event.At; at.After(latest) {
			latest = at
		}
	}
	if latest.Sub(d.lastSweep) >= sweepEvery {
		b.sweep(latest)
	}
	if err := b.persist(tx); err != nil {
		return nil, err
	}
	return func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if latest.Sub(d.lastSweep) >= sweepEvery {
			d.lastSweep = latest
		}
		publish(d.accounts, b.accounts, func(w *accountWindow) bool {
			return len(w.Properties) == 0 && len(w.Sessions) == 0 && len(w.KnownDevices) == 0 && !w.LoggedIn && w.Recovery.At.IsZero() && len(w.MFACooldowns) == 0
		})
		publish(d.ips, b.ips, func(w *ipWindow) bool { return len(w.Failures) == 0 && w.ThrottledUntil.IsZero() })
		publish(d.props, b.props, func(w *propertyWindow) bool { return len(w.Failures) == 0 && w.LastFired.IsZero() })
	}, nil
}

func publish[W any](into, from map[string]*W, empty func(*W) bool) {
	for k, w := range from {
		if empty(w) {
			delete(into, k)
		} else {
			into[k] = w
		}
	}
}

func (b *batch) persist(tx *sql.Tx) error {
	// Both statements stay compiled on the connection (projections.OpenDB's cache).
	save := func(kind, id string, w any, empty bool) error {
		if empty {
			_, err := tx.ExecContext(b.ctx, `DELETE FROM detector_state WHERE kind = ? AND id = ?`, kind, id)
			return err
		}
		blob, err := json.Marshal(w)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(b.ctx, `INSERT INTO detector_state(kind, id, state) VALUES(?, ?, ?) ON CONFLICT(kind, id) DO UPDATE SET state = excluded.state`, kind, id, blob)
		return err
	}
	for id, w := range b.accounts {
		empty := len(w.Properties) == 0 && len(w.Sessions) == 0 && len(w.KnownDevices) == 0 && !w.LoggedIn && w.Recovery.At.IsZero() && len(w.MFACooldowns) == 0
		if err := save("a", id, w, empty); err != nil {
			return err
		}
	}
	for id, w := range b.ips {
		if err := save("i", id, w, len(w.Failures) == 0 && w.ThrottledUntil.IsZero()); err != nil {
			return err
		}
	}
	for id, w := range b.props {
		if err := save("p", id, w, len(w.Failures) == 0 && w.LastFired.IsZero()); err != nil {
			return err
		}
	}
	return nil
}

func (b *batch) apply(ev *eventlog.Decoded) error {
	stream := ev.Recorded.Stream
	at := ev.Event.At
	id := ev.Recorded.ID.String()
	switch {
	case strings.HasPrefix(stream, "account-"):
		return b.applyAccount(strings.TrimPrefix(stream, "account-"), at, id, ev.Event.Data)
	case strings.HasPrefix(stream, "property-"):
		pid := strings.TrimPrefix(stream, "property-")
		switch e := ev.Event.Data.(type) {
		case domain.MemberAdded:
			w := b.account(e.AccountID)
			if !slices.Contains(w.Properties, pid) {
				w.Properties = append(w.Properties, pid)
				slices.Sort(w.Properties)
			}
		case domain.MemberRemoved:
			w := b.account(e.AccountID)
			w.Properties = slices.DeleteFunc(w.Properties, func(p string) bool { return p == pid })
		}
	case strings.HasPrefix(stream, "unknown-email-"):
		if e, ok := ev.Event.Data.(domain.UnknownEmailLoginFailed); ok {
			// Keyed by the stream's pseudonym, which is the event's email_hash but is never
			// sealed: an erased email_hash would make every such address one.
			return b.failure("unknown:"+strings.TrimPrefix(stream, "unknown-email-"), "", e.Origin.IP, at, id)
		}
	}
	return nil
}

func (b *batch) applyAccount(accountID string, at time.Time, eventID string, data domain.Payload) error {
	p := b.d.cfg.Policy
	switch e := data.(type) {
	case domain.AccountRegistered:
		if e.PropertyID != "" {
			w := b.account(accountID)
			if !slices.Contains(w.Properties, e.PropertyID) {
				w.Properties = append(w.Properties, e.PropertyID)
				slices.Sort(w.Properties)
			}
		}
	case domain.LinkedToProperty:
		w := b.account(accountID)
		if !slices.Contains(w.Properties, e.PropertyID) {
			w.Properties = append(w.Properties, e.PropertyID)
			slices.Sort(w.Properties)
		}
	case domain.UnlinkedFromProperty:
		w := b.account(accountID)
		w.Properties = slices.DeleteFunc(w.Properties, func(x string) bool { return x == e.PropertyID })
	case domain.LoginFailed:
		if e.Reason == domain.ReasonInvalidCredentials {
			return b.failure("account:"+accountID, accountID, e.Origin.IP, at, eventID)
		}
	case domain.LoginRejected:
		if !e.CredentialsVerified {
			return b.failure("account:"+accountID, accountID, e.Origin.IP, at, eventID)
		}
	case domain.LoginSucceeded:
		return b.loginSucceeded(accountID, at, eventID, e)
	case domain.SessionStarted:
		w := b.account(accountID)
		if s, ok := w.Sessions[e.SessionID]; ok {
			s.ExpiresAt = e.ExpiresAt
			w.Sessions[e.SessionID] = s
		}
	case domain.SessionEnded:
		w := b.account(accountID)
		delete(w.Sessions, e.SessionID)
	case domain.AccountDisabled:
		if e.Kind != domain.DisableInactivity {
			b.account(accountID).Sessions = nil
		}
	case domain.AccountDeleted:
		b.account(accountID).Sessions = nil
	case domain.AccountErased:
		b.forgetAccount(accountID)
	case domain.AccountUnlocked:
		b.account(accountID).Recovery = stamp{At: at, EventID: eventID}
	case domain.PasswordChanged:
		if e.Cause == domain.PasswordChangedByReset {
			b.account(accountID).Recovery = stamp{At: at, EventID: eventID}
		}
	case domain.MFACooldownStarted:
		w := b.account(accountID)
		w.MFACooldowns = pruneStamps(append(w.MFACooldowns, stamp{At: at, EventID: eventID}), at.Add(-p.MFAGuessingWindow.Std()))
		if len(w.MFACooldowns) >= p.MFAGuessingCooldowns {
			ev := domain.Evidence{WindowStart: w.MFACooldowns[0].At, WindowEnd: at,
				Detail: fmt.Sprintf("%d MFA cooldowns within %s", len(w.MFACooldowns), p.MFAGuessingWindow.Std())}
			for _, s := range w.MFACooldowns {
				ev.EventIDs = append(ev.EventIDs, s.EventID)
			}
			w.MFACooldowns = nil
			return b.act(domain.RuleMFAGuessing, eventID, at, func(m domain.Metadata) error {
				return b.d.cfg.Actions.RecordSuspiciousActivity(b.ctx, m, accountID, domain.RuleMFAGuessing, ev, true)
			})
		}
	}
	return nil
}

func (b *batch) loginSucceeded(accountID string, at time.Time, eventID string, e domain.LoginSucceeded) error {
	p := b.d.cfg.Policy
	w := b.account(accountID)
	device := present(e.Origin.DeviceID)
	ip := present(domain.CanonicalIP(e.Origin.IP))

	// A never-seen device right after a recovery (reset or unlock).
	var newDevice func(domain.Metadata) error
	if device != "" && w.LoggedIn && !slices.Contains(w.KnownDevices, device) && !w.Recovery.At.IsZero() && at.Sub(w.Recovery.At) <= p.NewDeviceWindow.Std() {
		ev := domain.Evidence{Addresses: nonEmpty(ip), Devices: []string{device}, EventIDs: []string{w.Recovery.EventID, eventID},
			WindowStart: w.Recovery.At, WindowEnd: at, Detail: "login from a never-seen device after a password reset or unlock"}
		newDevice = func(m domain.Metadata) error {
			return b.d.cfg.Actions.RecordSuspiciousActivity(b.ctx, m, accountID, domain.RuleNewDeviceAfterRecovery, ev, p.NewDeviceDisable)
		}
		w.Recovery = stamp{}
	}
	w.LoggedIn = true
	if device != "" && !slices.Contains(w.KnownDevices, device) {
		w.KnownDevices = append(w.KnownDevices, device)
		if len(w.KnownDevices) > maxKnownDevices {
			w.KnownDevices = w.KnownDevices[len(w.KnownDevices)-maxKnownDevices:]
		}
	}

	// Shared account: another session, still open and started within the window, from
	// another device or address.
	windowStart := at.Add(-p.SharedAccountWindow.Std())
	var first *sessionInfo
	for sid, s := range w.Sessions {
		if s.StartedAt.Before(windowStart) || (!s.ExpiresAt.IsZero() && !at.Before(s.ExpiresAt)) {
			delete(w.Sessions, sid)
			continue
		}
		differs := s.IP != ip || (s.Device != "" && device != "" && s.Device != device)
		if differs && (first == nil || s.StartedAt.Before(first.StartedAt)) {
			s := s
			first = &s
		}
	}
	if w.Sessions == nil {
		w.Sessions = map[string]sessionInfo{}
	}
	w.Sessions[e.SessionID] = sessionInfo{StartedAt: at, IP: ip, Device: device, EventID: eventID}
	if newDevice != nil {
		if err := b.act(domain.RuleNewDeviceAfterRecovery, eventID, at, newDevice); err != nil {
			return err
		}
	}
	if first == nil {
		return nil
	}
	ev := domain.Evidence{
		Addresses: uniqueSorted(first.IP, ip), Devices: uniqueSorted(first.Device, device),
		EventIDs: []string{first.EventID, eventID}, WindowStart: first.StartedAt, WindowEnd: at,
		Detail: fmt.Sprintf("two sessions open at once from different devices or addresses within %s", p.SharedAccountWindow.Std()),
	}
	w.Sessions = nil // the account is disabled and its sessions ended
	return b.act(domain.RuleSharedAccount, eventID, at, func(m domain.Metadata) error {
		return b.d.cfg.Actions.RecordSuspiciousActivity(b.ctx, m, accountID, domain.RuleSharedAccount, ev, true)
	})
}

// forgetAccount drops an erased account's windows: its sessions and devices, and its
// failures in the address and property windows (with the addresses they came from). A
// rebuild reading its events after the key is gone counts no address for them either
// (absent, see failure), so the windows agree whichever way they were made.
func (b *batch) forgetAccount(accountID string) {
	*b.account(accountID) = accountWindow{}
	key := "account:" + accountID
	mine := func(f failure) bool { return f.Key == key }
	for _, ip := range slices.Sorted(maps.Keys(b.d.ips)) {
		if slices.ContainsFunc(b.d.ips[ip].Failures, mine) {
			w := b.ip(ip)
			w.Failures = slices.DeleteFunc(w.Failures, mine)
		}
	}
	for ip, w := range b.ips {
		w.Failures = slices.DeleteFunc(w.Failures, mine)
		b.ips[ip] = w
	}
	for _, id := range slices.Sorted(maps.Keys(b.d.props)) {
		if slices.ContainsFunc(b.d.props[id].Failures, mine) {
			w := b.prop(id)
			w.Failures = slices.DeleteFunc(w.Failures, mine)
		}
	}
	for _, w := range b.props {
		w.Failures = slices.DeleteFunc(w.Failures, mine)
	}
}

// present is an origin value, or "" for an erased one: many erased addresses (or devices)
// are not one, and must never be counted or compared as one.
func present(v string) string {
	if domain.IsErased(v) {
		return ""
	}
	return v
}

// failure counts one failed sign-in against key (an account or an unknown e-mail) from ip,
// for credential stuffing (per address) and password spraying (per property).
func (b *batch) failure(key, accountID, rawIP string, at time.Time, eventID string) error {
	p := b.d.cfg.Policy
	ip := present(domain.CanonicalIP(rawIP))
	f := failure{At: at, Key: key, IP: ip, EventID: eventID}
	if ip != "" {
		w := b.ip(ip)
		w.Failures = pruneFailures(append(w.Failures, f), at.Add(-p.StuffingWindow.Std()))
		if keys := distinct(w.Failures, func(f failure) string { return f.Key }); len(keys) >= p.StuffingDistinctEmails && !at.Before(w.ThrottledUntil) {
			until := at.Add(p.StuffingCoolOff.Std())
			ev := domain.Evidence{Addresses: []string{ip}, EventIDs: eventIDs(w.Failures), WindowStart: w.Failures[0].At, WindowEnd: at,
				Detail: fmt.Sprintf("%d distinct e-mails failed from one address within %s", len(keys), p.StuffingWindow.Std())}
			w.ThrottledUntil, w.Failures = until, nil
			if err := b.act(domain.RuleCredentialStuffing, eventID, at, func(m domain.Metadata) error {
				return b.d.cfg.Actions.ThrottleAddress(b.ctx, m, domain.ThrottleAddress{IP: ip, Until: until, Rule: domain.RuleCredentialStuffing, Evidence: ev})
			}); err != nil {
				return err
			}
		}
	}
	if accountID == "" {
		return nil
	}
	for _, pid := range b.account(accountID).Properties {
		w := b.prop(pid)
		w.Failures = pruneFailures(append(w.Failures, f), at.Add(-p.SprayingWindow.Std()))
		accounts := distinct(w.Failures, func(f failure) string { return f.Key })
		addrs := distinct(w.Failures, func(f failure) string { return f.IP })
		if len(accounts) < p.SprayingMinAccounts || len(addrs) > p.SprayingMaxAddresses {
			continue
		}
		if !w.LastFired.IsZero() && at.Sub(w.LastFired) < p.SprayingWindow.Std() {
			continue // one record per window: the review needs the pattern, not every hit
		}
		ids := make([]string, 0, len(accounts))
		for _, k := range accounts {
			ids = append(ids, strings.TrimPrefix(k, "account:"))
		}
		d := domain.PropertyAttackDetected{PropertyID: pid, Rule: domain.RulePasswordSpraying, Action: domain.ActionRecordedForReview, Accounts: ids,
			Evidence: domain.Evidence{Addresses: addrs, EventIDs: eventIDs(w.Failures), WindowStart: w.Failures[0].At, WindowEnd: at,
				Detail: fmt.Sprintf("%d accounts of the property failed from %d address(es) within %s", len(accounts), len(addrs), p.SprayingWindow.Std())}}
		w.LastFired, w.Failures = at, nil
		if err := b.act(domain.RulePasswordSpraying+"/"+pid, eventID, at, func(m domain.Metadata) error {
			return b.d.cfg.Actions.RecordPropertyAttack(b.ctx, m, d)
		}); err != nil {
			return err
		}
	}
	return nil
}

// act runs a detection's command under its deterministic ID. A domain refusal (the account
// was deleted meanwhile, a throttle already ended) is logged and skipped: retrying would
// only be refused again. Anything else fails the batch, to be retried from the checkpoint.
func (b *batch) act(rule, eventID string, at time.Time, do func(domain.Metadata) error) error {
	if b.now.Sub(at) > b.d.cfg.ActHorizon {
		return nil
	}
	m := domain.Metadata{CommandID: CommandID(rule, eventID), CorrelationID: eventID}
	err := do(m)
	switch {
	case err == nil:
		return nil
	case domain.ErrorCode(err) != "":
		b.d.log.Warn("detection refused by the domain; skipped", "rule", rule, "event_id", eventID, "error", err)
		return nil
	case errors.Is(err, eventstore.ErrDuplicateEventID):
		return nil // acted before a rebuild: the store holds the action already
	default:
		return fmt.Errorf("detectors: %s on %s: %w", rule, eventID, err)
	}
}

// CommandID is the deterministic ID of the action a rule takes on a triggering event.
func CommandID(rule, eventID string) string { return "detector/" + rule + "/" + eventID }

func pruneStamps(s []stamp, from time.Time) []stamp {
	i := 0
	for i < len(s) && s[i].At.Before(from) {
		i++
	}
	return s[i:]
}

func pruneFailures(s []failure, from time.Time) []failure {
	i := 0
	for i < len(s) && s[i].At.Before(from) {
		i++
	}
	return s[i:]
}

func distinct(fs []failure, key func(failure) string) []string {
	var out []string
	for _, f := range fs {
		if k := key(f); k != "" && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func eventIDs(fs []failure) []string {
	if len(fs) > maxEvidenceIDs {
		fs = fs[len(fs)-maxEvidenceIDs:]
	}
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.EventID
	}
	return out
}

func uniqueSorted(vs ...string) []string {
	var out []string
	for _, v := range vs {
		if v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}

func nonEmpty(v string) []string {
	if v == "" {
		return nil
	}
	return []string{v}
}
