package projections

import (
	"accountd/eventstore/eventlog"
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"time"

	// The stored state is this projection's own format, written and read only here: go-json
	// halves the cost of encoding every touched account once per batch, the largest part of
	// applying a rebuild's batch, and of loading them all at start.
	json "github.com/goccy/go-json"

	"accountd/domain"
)

// StatusName keys the status projection's checkpoint.
const StatusName = "account_status"

// Status is the read model the login flow queries: the fold of every account and property,
// kept in memory for sub-millisecond answers and in SQLite so a restart resumes from its
// checkpoint instead of replaying the log. Time rules (expiry, cooldowns, delayed restores)
// are evaluated at query time from recorded timestamps, so the stored state never goes stale.
type Status struct {
	mu         sync.RWMutex
	accounts   *accountTable // by ID and by normalised address, out of the GC's sight
	properties map[string]propertyRecord
	gates      *propertyGates // what a read needs of each property, packed likewise
}

type accountRecord struct {
	Account  domain.Account `json:"account"`
	Position uint64         `json:"position"`
}

type propertyRecord struct {
	Property domain.Property `json:"property"`
	Position uint64          `json:"position"`
}

// NewStatus returns an empty status projection.
func NewStatus() *Status {
	return &Status{accounts: newAccountTable(), properties: map[string]propertyRecord{}, gates: newPropertyGates()}
}

func (s *Status) Name() string { return StatusName }

func (s *Status) Tables() []string { return []string{"status_accounts", "status_properties"} }

func (s *Status) Schema() []string {
	return []string{
		`CREATE TABLE IF NOT EXISTS status_accounts (account_id TEXT PRIMARY KEY, email TEXT NOT NULL, position INTEGER NOT NULL, state BLOB NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS status_accounts_email ON status_accounts(email)`,
		`CREATE TABLE IF NOT EXISTS status_properties (property_id TEXT PRIMARY KEY, position INTEGER NOT NULL, state BLOB NOT NULL)`,
	}
}

func (s *Status) Load(ctx context.Context, db *sql.DB) error {
	accounts := newAccountTable()
	rows, err := db.QueryContext(ctx, `SELECT account_id, email, state FROM status_accounts`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id, email string
		var blob []byte
		var rec accountRecord
		if err := rows.Scan(&id, &email, &blob); err != nil {
			rows.Close()
			return err
		}
		if err := json.Unmarshal(blob, &rec); err != nil {
			rows.Close()
			return fmt.Errorf("status_accounts %s: %w", id, err)
		}
		// Keyed by today's canonical form, whatever form the row was written under; an
		// erased address is no address (emailKey).
		accounts.put(id, emailKey(email), rec)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	properties := map[string]propertyRecord{}
	rows, err = db.QueryContext(ctx, `SELECT property_id, state FROM status_properties`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var blob []byte
		var rec propertyRecord
		if err := rows.Scan(&id, &blob); err != nil {
			return err
		}
		if err := json.Unmarshal(blob, &rec); err != nil {
			return fmt.Errorf("status_properties %s: %w", id, err)
		}
		properties[id] = rec
	}
	if err := rows.Err(); err != nil {
		return err
	}
	gates := newPropertyGates()
	for id, rec := range properties {
		gates.put(id, rec)
	}
	s.mu.Lock()
	s.accounts, s.properties, s.gates = accounts, properties, gates
	s.mu.Unlock()
	return nil
}

func (s *Status) Apply(ctx context.Context, tx *sql.Tx, events []eventlog.Decoded) (func(), error) {
	s.mu.RLock()
	accounts := map[string]accountRecord{}
	properties := map[string]propertyRecord{}
	for _, d := range events {
		stream := d.Recorded.Stream
		switch {
		case strings.HasPrefix(stream, "account-"):
			id := strings.TrimPrefix(stream, "account-")
			rec, ok := accounts[id]
			if !ok {
				rec, _ = s.accounts.get(id)
			}
			rec.Account = withoutSecrets(domain.EvolveAccount(rec.Account, d.Event))
			if _, erased := d.Event.Data.(domain.AccountErased); erased {
				// Forget the address now: a rebuild, reading the events after the key was
				// destroyed, sees it erased from the registration on, and writes this row.
				rec.Account.Email = domain.Erased
			}
			rec.Position = d.Recorded.Position
			accounts[id] = rec
		case strings.HasPrefix(stream, "property-"):
			id := strings.TrimPrefix(stream, "property-")
			rec, ok := properties[id]
			if !ok {
				rec = s.properties[id]
			}
			rec.Property = domain.EvolveProperty(rec.Property, d.Event)
			rec.Position = d.Recorded.Position
			properties[id] = rec
		}
	}
	s.mu.RUnlock()

	// The connection keeps the statement compiled (OpenDB's statement cache), across
	// batches too: a rebuild applies batches touching thousands of accounts.
	for id, rec := range accounts {
		blob, err := json.Marshal(rec)
		if err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO status_accounts(account_id, email, position, state) VALUES(?, ?, ?, ?)
			ON CONFLICT(account_id) DO UPDATE SET email = excluded.email, position = excluded.position, state = excluded.state`,
			id, rec.Account.Email, rec.Position, blob); err != nil {
			return nil, err
		}
	}
	for id, rec := range properties {
		blob, err := json.Marshal(rec)
		if err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO status_properties(property_id, position, state) VALUES(?, ?, ?)
			ON CONFLICT(property_id) DO UPDATE SET position = excluded.position, state = excluded.state`,
			id, rec.Position, blob); err != nil {
			return nil, err
		}
	}
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for id, rec := range accounts {
			s.accounts.put(id, emailKey(rec.Account.Email), rec)
		}
		for id, rec := range properties {
			s.properties[id] = rec
			s.gates.put(id, rec)
		}
	}, nil
}

// withoutSecrets drops what status never needs, so the read model holds no hash or sealed
// secret: a copy of the read database reveals nothing the login flow could not say.
func withoutSecrets(a domain.Account) domain.Account {
	a.PasswordHash, a.PasswordHistory, a.Links, a.Sessions = "", nil, nil, nil
	a.MFA.Secret, a.MFA.PendingSecret = nil, nil
	return a
}

// StatusView is the answer to "may this account log in, and if not, why".
type StatusView struct {
	AccountID         string               `json:"account_id"`
	Email             string               `json:"email"`
	Status            domain.AccountStatus `json:"status"`
	PasswordChangedAt time.Time            `json:"password_changed_at"`
	PasswordExpiresAt time.Time            `json:"password_expires_at"`
	MFAEnrolled       bool                 `json:"mfa_enrolled"`
	MFAEnrolmentDueBy time.Time            `json:"mfa_enrolment_due_by"`
	Position          uint64               `json:"position"`
}

// AccountStatus evaluates an account's status at now under the policy.
func (s *Status) AccountStatus(accountID string, now time.Time, p domain.Policy) (StatusView, bool) {
	return s.accountStatus(accountID, now, p, false)
}

// AccountStatusIfNothingHappens is the status at a future instant if nobody acts before
// then (domain.AccountIfNothingHappens): what a password expiry, an inactivity disable or
// the end of the MFA grace will do to the account.
func (s *Status) AccountStatusIfNothingHappens(accountID string, at time.Time, p domain.Policy) (StatusView, bool) {
	return s.accountStatus(accountID, at, p, true)
}

func (s *Status) accountStatus(accountID string, now time.Time, p domain.Policy, future bool) (StatusView, bool) {
	s.mu.RLock()
	rec, ok := s.accounts.get(accountID)
	if !ok || !rec.Account.Registered {
		s.mu.RUnlock()
		return StatusView{}, false
	}
	var propsBuf [4]domain.Property
	props := propsBuf[:0]
	pos := rec.Position
	for _, id := range rec.Account.Properties {
		if pr, prPos, wide, ok := s.gates.get(id); ok {
			if wide {
				full := s.properties[id]
				pr, prPos = full.Property, full.Position
			}
			props = append(props, pr)
			pos = max(pos, prPos)
		}
	}
	s.mu.RUnlock()
	a := rec.Account
	if future {
		a = domain.AccountIfNothingHappens(a, now, p)
	}
	return StatusView{
		AccountID:         accountID,
		Email:             a.Email,
		Status:            domain.EvaluateStatus(a, props, now, p),
		PasswordChangedAt: a.PasswordChangedAt,
		PasswordExpiresAt: a.PasswordExpiresAt(p),
		MFAEnrolled:       a.MFA.Enrolled,
		MFAEnrolmentDueBy: a.MFAEnrolmentDueBy(p),
		Position:          pos,
	}, true
}

// AccountIDByEmail finds an account by its address.
func (s *Status) AccountIDByEmail(email string) (string, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.accounts.idByEmail(domain.NormaliseEmail(email))
}

// Counts reports how many accounts and properties the projection holds.
func (s *Status) Counts() (accounts, properties int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.accounts.len(), len(s.properties)
}

// Adopt takes a rebuilt instance's state (Runner.Rebuild): the API keeps this instance, and
// answers from the rebuilt state from the moment of the swap on.
func (s *Status) Adopt(rebuilt Projection) error {
	r, ok := rebuilt.(*Status)
	if !ok {
		return fmt.Errorf("projections: status cannot adopt a %T", rebuilt)
	}
	r.mu.RLock()
	accounts, properties, gates := r.accounts, r.properties, r.gates
	r.mu.RUnlock()
	s.mu.Lock()
	s.accounts, s.properties, s.gates = accounts, properties, gates
	s.mu.Unlock()
	return nil
}
