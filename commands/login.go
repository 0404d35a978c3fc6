package commands

import (
	"context"
	"strings"
	"time"

	"accountd/domain"
)

// LoginAttempt is what the login service sends for one sign-in.
type LoginAttempt struct {
	Email    string
	Password string
	TOTPCode string
	Origin   domain.Origin
}

// LoginResult is the decision and what the caller needs to act on it.
type LoginResult struct {
	domain.LoginOutcome
	AccountID string // empty for an unknown e-mail
	// UnlockToken is set when this attempt locked the account: the outbox e-mails it.
	UnlockToken string
	Positions   []uint64
	Status      domain.AccountStatus
}

// LastPosition is the position of the attempt's last event, for read-your-writes.
func (r LoginResult) LastPosition() uint64 {
	if len(r.Positions) == 0 {
		return 0
	}
	return r.Positions[len(r.Positions)-1]
}

// Login decides a sign-in on the account aggregate: the password check, the failure count
// and the lock are one decision appended at the revision it was made on (R1.5). An unknown
// e-mail costs one dummy verification and answers invalid_credentials, like a wrong password.
func (s *Service) Login(ctx context.Context, m Meta, a LoginAttempt) (LoginResult, error) {
	p := s.policy()
	accountID, found, err := s.AccountIDByEmail(ctx, a.Email)
	if err != nil {
		return LoginResult{}, wrap("login", err)
	}
	if !found {
		return s.unknownEmailLogin(ctx, m, a, p)
	}
	account, err := s.LoadAccount(ctx, accountID)
	if err != nil {
		return LoginResult{}, wrap("login", err)
	}
	props, err := s.propertiesOf(ctx, account)
	if err != nil {
		return LoginResult{}, wrap("login", err)
	}
	unlock, unlockLink, err := s.newLink(accountID)
	if err != nil {
		return LoginResult{}, wrap("login", err)
	}
	check := s.passwordCheck(a.Password)
	var now time.Time
	res, err := s.accounts.Update(ctx, domain.AccountStream(accountID), m.metadata(""), func(st domain.Account, at time.Time) ([]domain.Event, error) {
		now = at
		return domain.DecideAccount(st, domain.Login{
			Origin: a.Origin, SessionID: SessionID(accountID, s.newID()), PasswordMatches: check, TOTPCode: a.TOTPCode,
			VerifyTOTP: s.verifyTOTP(at), Properties: props, UnlockLink: unlockLink,
		}, at, p)
	})
	if err != nil {
		return LoginResult{}, wrap("login", err)
	}
	if now.IsZero() {
		now = s.Now()
	}
	out := LoginResult{
		LoginOutcome: domain.DescribeLogin(res.Events, res.State, now, p),
		AccountID:    accountID,
		Positions:    res.Positions,
		Status:       domain.EvaluateStatus(res.State, props, now, p),
	}
	if issuedUnlock(res.Events, unlockLink.TokenHash) && !res.Replayed {
		out.UnlockToken = unlock.Token
	}
	return out, nil
}

// unknownEmailLogin spends what a wrong password spends (one verification, one durable
// append) and answers what a wrong password would, so an address's existence shows neither
// in the answer nor in the timing.
func (s *Service) unknownEmailLogin(ctx context.Context, m Meta, a LoginAttempt, p domain.Policy) (LoginResult, error) {
	s.hasher.VerifyDummy(a.Password)
	hash := s.links.Pseudonym(domain.NormaliseEmail(a.Email))
	res, err := s.unknown.Update(ctx, domain.UnknownEmailStream(hash), m.metadata(""), func(st domain.UnknownEmail, now time.Time) ([]domain.Event, error) {
		return []domain.Event{{At: now, Data: domain.UnknownEmailLoginFailed{EmailHash: hash, Origin: a.Origin, FailedAttempts: st.FailedAttempts + 1}}}, nil
	})
	if err != nil {
		return LoginResult{}, wrap("login", err)
	}
	return LoginResult{LoginOutcome: domain.DescribeUnknownEmailLogin(res.State.FailedAttempts, p), Positions: res.Positions}, nil
}

func issuedUnlock(events []domain.Event, hash string) bool {
	for _, e := range events {
		if d, ok := e.Data.(domain.UnlockLinkIssued); ok && d.TokenHash == hash {
			return true
		}
	}
	return false
}

// SessionID names the account inside the session ID, so a session check loads the one
// account stream it concerns without an index. The random part makes it unguessable.
func SessionID(accountID, random string) string { return accountID + "_" + random }

// SessionAccount returns the account a session ID names.
func SessionAccount(sessionID string) (string, bool) {
	i := strings.LastIndexByte(sessionID, '_')
	if i <= 0 || i == len(sessionID)-1 {
		return "", false
	}
	return sessionID[:i], true
}

// CheckSession validates a session and records its use; an invalid one is closed on record.
func (s *Service) CheckSession(ctx context.Context, m Meta, sessionID string) (domain.SessionCheck, error) {
	accountID, ok := SessionAccount(sessionID)
	if !ok {
		return domain.SessionCheck{Reason: domain.SessionUnknown}, &domain.Error{Code: domain.CodeSessionNotFound, Message: "no such session"}
	}
	a, err := s.LoadAccount(ctx, accountID)
	if err != nil {
		if domain.ErrorCode(err) == domain.CodeAccountNotFound {
			return domain.SessionCheck{Reason: domain.SessionUnknown}, &domain.Error{Code: domain.CodeSessionNotFound, Message: "no such session"}
		}
		return domain.SessionCheck{}, err
	}
	props, err := s.propertiesOf(ctx, a)
	if err != nil {
		return domain.SessionCheck{}, err
	}
	p := s.policy()
	check := domain.SessionValidity(a, props, sessionID, s.Now(), p)
	if check.Reason == domain.SessionUnknown {
		return check, &domain.Error{Code: domain.CodeSessionNotFound, Message: "no such session"}
	}
	res, err := s.Account(ctx, m, accountID, domain.TouchSession{SessionID: sessionID, Properties: props})
	if err != nil {
		return check, err
	}
	if check.Valid {
		return domain.SessionValidity(res.State, props, sessionID, s.Now(), p), nil
	}
	return check, nil
}

// EndSession closes a session at its holder's request (logout, R7.1).
func (s *Service) EndSession(ctx context.Context, m Meta, sessionID string) (Result[domain.Account], error) {
	accountID, ok := SessionAccount(sessionID)
	if !ok {
		return Result[domain.Account]{}, &domain.Error{Code: domain.CodeSessionNotFound, Message: "no such session"}
	}
	res, err := s.Account(ctx, m, accountID, domain.EndSession{SessionID: sessionID, Cause: domain.SessionLoggedOut})
	if domain.ErrorCode(err) == domain.CodeAccountNotFound {
		return res, &domain.Error{Code: domain.CodeSessionNotFound, Message: "no such session"}
	}
	return res, err
}
