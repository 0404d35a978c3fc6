package commands

import (
	"accountd/eventstore/eventlog"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"accountd/domain"
	"accountd/domain/credentials"
	"accountd/eventstore"
	"accountd/eventstore/snapshot"
)

// Service is the write side of accountd: one method per command, each a short sequence of
// repository updates. It reads nothing from projections: decisions are made on aggregates.
type Service struct {
	store      eventstore.Store
	clock      Clock
	policy     func() domain.Policy
	hasher     PasswordHasher
	mfa        *credentials.MFA
	links      *credentials.LinkKey
	isCommon   func(string) bool
	newID      func() string
	accounts   *Repository[domain.Account]
	properties *Repository[domain.Property]
	emails     *Repository[domain.EmailReservation]
	unknown    *Repository[domain.UnknownEmail]
	lookalikes *Repository[domain.EmailLookalikes]
	skeletons  skeletonIndex
	shredder   Shredder
}

// Config gathers the service's dependencies. Clock, Policy, Hasher and MFA are required.
type Config struct {
	Store  eventstore.Store
	Clock  Clock
	Policy func() domain.Policy
	Hasher PasswordHasher
	MFA    *credentials.MFA
	// Links issues e-mailed link tokens.
	Links *credentials.LinkKey
	// IsCommonPassword reports a password from the common-password list (nil: no list).
	IsCommonPassword func(string) bool
	// NewID makes account, property and session IDs (default: random UUIDs).
	NewID   func() string
	Options []RepositoryOption
	// Snapshots, when set, keeps folded accounts and properties beside the log every
	// SnapshotEvery events (default snapshot.DefaultEvery), sealed under a key derived from
	// SnapshotKey (32 bytes or more: required with Snapshots). Nil: every cold load folds
	// the whole stream.
	Snapshots     snapshot.Store
	SnapshotKey   []byte
	SnapshotEvery int
	// Shredder destroys the key an erased account's personal data is sealed under (the
	// personal-data key store). Nil: no key store (tests, a log stored in clear); an erasure
	// then releases the address and forgets caches and snapshots only.
	Shredder Shredder
}

// SnapshotCodecs are the codecs of the aggregates the command side snapshots; the history
// reader opens the same snapshots with them.
func SnapshotCodecs(key []byte) (*snapshot.Codec[domain.Account], *snapshot.Codec[domain.Property], error) {
	acc, err := snapshot.NewCodec[domain.Account]("account", domain.EvolveVersion, key)
	if err != nil {
		return nil, nil, err
	}
	prop, err := snapshot.NewCodec[domain.Property]("property", domain.EvolveVersion, key)
	return acc, prop, err
}

// NewService wires the repositories.
func NewService(c Config) (*Service, error) {
	if c.Store == nil || c.Clock == nil || c.Policy == nil || c.Hasher == nil || c.MFA == nil || c.Links == nil {
		return nil, errors.New("commands: store, clock, policy, hasher, MFA and link key are required")
	}
	if c.NewID == nil {
		c.NewID = func() string { return uuid.NewString() }
	}
	s := &Service{
		store: c.Store, clock: c.Clock, policy: c.Policy, hasher: c.Hasher, mfa: c.MFA, links: c.Links,
		isCommon: c.IsCommonPassword, newID: c.NewID, shredder: c.Shredder,
		accounts:   NewRepository(c.Store, domain.EvolveAccount, c.Clock, c.Options...),
		properties: NewRepository(c.Store, domain.EvolveProperty, c.Clock, c.Options...),
		emails:     NewRepository(c.Store, domain.EvolveEmailReservation, c.Clock, c.Options...),
		unknown:    NewRepository(c.Store, domain.EvolveUnknownEmail, c.Clock, c.Options...),
		lookalikes: NewRepository(c.Store, domain.EvolveEmailLookalikes, c.Clock, c.Options...),
		skeletons:  skeletonIndex{repo: NewRepository(c.Store, domain.EvolveEmailSkeletonIndex, c.Clock, c.Options...)},
	}
	if c.Snapshots != nil {
		acc, prop, err := SnapshotCodecs(c.SnapshotKey)
		if err != nil {
			return nil, fmt.Errorf("commands: snapshots: %w", err)
		}
		s.accounts.EnableSnapshots(c.Snapshots, acc, c.SnapshotEvery)
		s.properties.EnableSnapshots(c.Snapshots, prop, c.SnapshotEvery)
	}
	return s, nil
}

// PasswordHasher hashes and verifies passwords (credentials.Hasher). VerifyDummy spends
// what a verification spends, for sign-ins on addresses without an account.
type PasswordHasher interface {
	Hash(password string) (string, error)
	Verify(phc, password string) bool
	VerifyDummy(password string) bool
}

// Meta identifies a command: its ID (for exactly-once application) and the request it came with.
type Meta struct {
	CommandID     string
	CorrelationID string
}

func (m Meta) metadata(suffix string) domain.Metadata {
	id := m.CommandID
	if id == "" {
		id = eventlog.NewCommandID()
	}
	if suffix != "" {
		// One command touching several streams keeps one ID per stream.
		id += "/" + suffix
	}
	return domain.Metadata{CommandID: id, CorrelationID: m.CorrelationID}
}

// Account executes a domain command on one account.
func (s *Service) Account(ctx context.Context, m Meta, accountID string, cmd domain.AccountCommand) (Result[domain.Account], error) {
	return s.accounts.Update(ctx, domain.AccountStream(accountID), m.metadata(""), func(st domain.Account, now time.Time) ([]domain.Event, error) {
		return domain.DecideAccount(st, cmd, now, s.policy())
	})
}

// Property executes a domain command on one property. One an account performs carries the
// actor's standing, loaded here.
func (s *Service) Property(ctx context.Context, m Meta, propertyID string, cmd domain.PropertyCommand) (Result[domain.Property], error) {
	cmd, err := s.withStanding(ctx, cmd)
	if err != nil {
		return Result[domain.Property]{}, err
	}
	return s.properties.Update(ctx, domain.PropertyStream(propertyID), m.metadata(""), func(st domain.Property, now time.Time) ([]domain.Event, error) {
		return domain.DecideProperty(st, cmd, now, s.policy())
	})
}

// LoadAccount returns an account's current state from the log (not from a projection).
func (s *Service) LoadAccount(ctx context.Context, accountID string) (domain.Account, error) {
	a, _, err := s.accounts.Load(ctx, domain.AccountStream(accountID))
	if err == nil && !a.Registered {
		return a, &domain.Error{Code: domain.CodeAccountNotFound, Message: "account does not exist"}
	}
	return a, err
}

// LoadProperty returns a property's current state from the log.
func (s *Service) LoadProperty(ctx context.Context, propertyID string) (domain.Property, error) {
	p, _, err := s.properties.Load(ctx, domain.PropertyStream(propertyID))
	if err == nil && !p.Created {
		return p, &domain.Error{Code: domain.CodePropertyNotFound, Message: "property does not exist"}
	}
	return p, err
}

// AccountIDByEmail resolves an address through its reservation stream, exactly. An address
// reserved before addresses were canonicalised, under a key that differs from its
// canonical one (some non-ASCII addresses), is found under that older key.
func (s *Service) AccountIDByEmail(ctx context.Context, email string) (string, bool, error) {
	r, _, err := s.emails.Load(ctx, s.emailStream(email))
	if err != nil || r.AccountID != "" {
		return r.AccountID, r.AccountID != "", err
	}
	return s.legacyReservation(ctx, email)
}

// emailStream names an address's reservation stream by its keyed pseudonym.
func (s *Service) emailStream(email string) string {
	return domain.EmailStream(s.links.Pseudonym(domain.NormaliseEmail(email)))
}

func (s *Service) legacyReservation(ctx context.Context, email string) (string, bool, error) {
	for _, stream := range domain.LegacyEmailStreams(email) {
		r, _, err := s.emails.Load(ctx, stream)
		if err != nil || r.AccountID != "" {
			return r.AccountID, r.AccountID != "", err
		}
	}
	return "", false, nil
}

// propertiesOf loads the states of an account's properties, for status and authority.
func (s *Service) propertiesOf(ctx context.Context, a domain.Account) ([]domain.Property, error) {
	out := make([]domain.Property, 0, len(a.Properties))
	for _, id := range a.Properties {
		p, _, err := s.properties.Load(ctx, domain.PropertyStream(id))
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// Status evaluates an account's status from the write model at the clock's now. The read
// path uses the status projection; this one serves commands and tests.
func (s *Service) Status(ctx context.Context, accountID string) (domain.AccountStatus, error) {
	a, err := s.LoadAccount(ctx, accountID)
	if err != nil {
		return domain.AccountStatus{}, err
	}
	props, err := s.propertiesOf(ctx, a)
	if err != nil {
		return domain.AccountStatus{}, err
	}
	return domain.EvaluateStatus(a, props, s.clock().UTC(), s.policy()), nil
}

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.clock().UTC() }

// Policy is the policy in force.
func (s *Service) Policy() domain.Policy { return s.policy() }

func (s *Service) candidate(password string) domain.PasswordCandidate {
	return domain.PasswordCandidate{
		Password:    password,
		IsCommon:    s.isCommon,
		MatchesHash: func(h string) bool { return s.hasher.Verify(h, password) },
	}
}

// passwordCheck verifies once per hash, however many times a retried decision asks.
func (s *Service) passwordCheck(password string) func(string) bool {
	seen := map[string]bool{}
	return func(hash string) bool {
		if ok, done := seen[hash]; done {
			return ok
		}
		ok := hash != "" && s.hasher.Verify(hash, password)
		seen[hash] = ok
		return ok
	}
}

func (s *Service) verifyTOTP(now time.Time) func([]byte, string) (int64, bool) {
	skew := s.policy().MFAClockSkewSteps
	return func(sealed []byte, code string) (int64, bool) { return s.mfa.Verify(sealed, code, now, skew) }
}

func (s *Service) newLink(accountID string) (credentials.Link, domain.NewLink, error) {
	l, err := s.links.Issue(accountID)
	return l, domain.NewLink{TokenHash: l.Hash, Nonce: l.Nonce}, err
}

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var de *domain.Error
	if errors.As(err, &de) {
		return err
	}
	return fmt.Errorf("commands: %s: %w", op, err)
}
