package history

import (
	"accountd/eventstore/eventlog"
	"context"
	"sort"
	"strings"
	"time"

	"accountd/domain"
)

// What-if replay: each recorded sign-in is decided again by domain.DecideAccount under a
// candidate policy, on a simulated state; every other recorded event is applied as it was.
// The comparison is about lockouts: when each account locked in the recording and would
// have locked under the candidate.
//
// What cannot be replayed, and how it is handled:
//   - Passwords are known only as right or wrong, from the recorded outcome: LoginFailed
//     (invalid_credentials) was wrong; LoginSucceeded, MFACodeRejected and a LoginRejected with
//     credentials_verified were right. A refusal made before the password was checked (the
//     account was locked or deleted) carries no verdict: if the simulated account is not
//     locked there, the attempt is skipped and counted as unreplayable.
//   - MFA codes are known only as accepted or rejected, likewise.
//   - People would have behaved differently under another policy (a locked-out user stops
//     trying; an unlock link they never received is never used): the replay assumes they
//     repeat exactly what they did.
//   - Unlock links issued by the simulation are not real: a recorded unlock is applied as
//     recorded, whichever link it used.

// WhatIfRequest selects the history to replay. With neither AccountIDs nor PropertyID, every
// account in the log is replayed.
type WhatIfRequest struct {
	Policy     domain.Policy
	AccountIDs []string
	PropertyID string
	From, To   time.Time
}

// Outcomes of the comparison per account.
const (
	OutcomeUnchanged     = "unchanged"
	OutcomeLockedEarlier = "locked_earlier"
	OutcomeLockedLater   = "locked_later"
	OutcomeNeverLocked   = "never_locked"
	OutcomeNewlyLocked   = "newly_locked"
	OutcomeMoreLocks     = "more_locks"
	OutcomeFewerLocks    = "fewer_locks"
)

// AccountDiff is how one account's outcome would have differed.
type AccountDiff struct {
	AccountID          string      `json:"account_id"`
	Outcome            string      `json:"outcome"`
	RecordedLocks      []time.Time `json:"recorded_locks"`
	SimulatedLocks     []time.Time `json:"simulated_locks"`
	Attempts           int         `json:"attempts"`
	DifferentDecisions int         `json:"different_decisions"`
	Unreplayable       int         `json:"unreplayable_attempts"`
}

// WhatIfReport is the comparison with totals.
type WhatIfReport struct {
	From        time.Time      `json:"from"`
	To          time.Time      `json:"to"`
	Accounts    []AccountDiff  `json:"accounts"`
	Totals      map[string]int `json:"totals"`
	Limitations []string       `json:"limitations"`
}

// Limitations is stated with every report.
var Limitations = []string{
	"passwords and MFA codes are replayed only as right or wrong, as the recorded outcome tells",
	"attempts refused before the password was checked (locked or deleted account) carry no verdict and are skipped when the simulated account is not locked",
	"people are assumed to repeat exactly what they did, even where the candidate policy would have locked them out or let them in",
	"recorded unlocks, resets and administrative events are applied as recorded",
	"the status of each property is the recorded one",
}

// WhatIf replays the selected accounts' sign-ins in [From, To) under the candidate policy.
func (r *Reader) WhatIf(ctx context.Context, req WhatIfRequest) (WhatIfReport, error) {
	if err := req.Policy.Validate(); err != nil {
		return WhatIfReport{}, err
	}
	if req.From.IsZero() || req.To.IsZero() || !req.From.Before(req.To) {
		return WhatIfReport{}, &Error{Code: CodeInvalidQuery, Message: "from and to are required, with from before to"}
	}
	ids := uniq(append([]string(nil), req.AccountIDs...))
	if len(ids) == 0 {
		var err error
		if ids, err = r.accountsOf(ctx, req.PropertyID); err != nil {
			return WhatIfReport{}, err
		}
	}
	rep := WhatIfReport{From: req.From, To: req.To, Accounts: []AccountDiff{}, Totals: map[string]int{}, Limitations: Limitations}
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return WhatIfReport{}, err
		}
		diff, err := r.replay(ctx, id, req)
		if err != nil {
			return WhatIfReport{}, err
		}
		rep.Totals["accounts"]++
		rep.Totals[diff.Outcome]++
		rep.Totals["recorded_locks"] += len(diff.RecordedLocks)
		rep.Totals["simulated_locks"] += len(diff.SimulatedLocks)
		rep.Totals["attempts"] += diff.Attempts
		rep.Totals["different_decisions"] += diff.DifferentDecisions
		rep.Totals["unreplayable_attempts"] += diff.Unreplayable
		if diff.Outcome != OutcomeUnchanged || diff.DifferentDecisions > 0 {
			rep.Accounts = append(rep.Accounts, diff)
		}
	}
	return rep, nil
}

// accountsOf lists the members a property ever had, or every account in the log.
func (r *Reader) accountsOf(ctx context.Context, propertyID string) ([]string, error) {
	var ids []string
	if propertyID != "" {
		evs, err := r.readStream(ctx, domain.PropertyStream(propertyID))
		if err != nil {
			return nil, err
		}
		if len(evs) == 0 {
			return nil, &Error{Code: domain.CodePropertyNotFound, Message: "property does not exist"}
		}
		for _, d := range evs {
			if e, ok := d.Event.Data.(domain.MemberAdded); ok {
				ids = append(ids, e.AccountID)
			}
		}
		return uniq(ids), nil
	}
	var after uint64
	for {
		recs, err := r.Store.ReadAll(ctx, after, 4096)
		if err != nil {
			return nil, err
		}
		for _, rec := range recs {
			if rec.Revision == 0 && strings.HasPrefix(rec.Stream, "account-") {
				ids = append(ids, strings.TrimPrefix(rec.Stream, "account-"))
			}
		}
		if len(recs) < 4096 {
			return uniq(ids), nil
		}
		after = recs[len(recs)-1].Position
	}
}

func (r *Reader) replay(ctx context.Context, accountID string, req WhatIfRequest) (AccountDiff, error) {
	l, err := r.loadAccount(ctx, accountID)
	if err != nil {
		return AccountDiff{}, err
	}
	diff := AccountDiff{AccountID: accountID, RecordedLocks: []time.Time{}, SimulatedLocks: []time.Time{}}
	var sim domain.Account
	evs := l.events
	for i := 0; i < len(evs); {
		// One command's events form one group: a sign-in is replayed as a whole.
		j := i + 1
		for j < len(evs) && evs[j].Meta.CommandID != "" && evs[j].Meta.CommandID == evs[i].Meta.CommandID {
			j++
		}
		group := evs[i:j]
		i = j
		at := group[0].Event.At
		inWindow := !at.Before(req.From) && at.Before(req.To)
		for _, d := range group {
			if _, ok := d.Event.Data.(domain.AccountLocked); ok && inWindow {
				diff.RecordedLocks = append(diff.RecordedLocks, d.Event.At)
			}
		}
		attempt, verdict := loginVerdict(group)
		if !inWindow || attempt == nil {
			for _, d := range group {
				sim = domain.EvolveAccount(sim, d.Event)
			}
			continue
		}
		diff.Attempts++
		if verdict == verdictUnknown && !sim.IsLockedAt(at, req.Policy) {
			diff.Unreplayable++
			continue
		}
		props := l.propertiesAt(at)
		out, err := domain.DecideAccount(sim, domain.Login{
			Origin: *attempt, SessionID: "whatif", Properties: props,
			PasswordMatches: func(string) bool { return verdict != verdictWrongPassword },
			TOTPCode:        "000000",
			VerifyTOTP: func([]byte, string) (int64, bool) {
				return sim.MFA.LastUsedStep + 1, verdict == verdictRight
			},
			UnlockLink: domain.NewLink{TokenHash: "whatif", Nonce: "whatif"},
		}, at, req.Policy)
		if err != nil {
			diff.Unreplayable++
			continue
		}
		if recordedAllowed(group) != simulatedAllowed(out) {
			diff.DifferentDecisions++
		}
		for _, e := range out {
			if _, ok := e.Data.(domain.AccountLocked); ok {
				diff.SimulatedLocks = append(diff.SimulatedLocks, e.At)
			}
			sim = domain.EvolveAccount(sim, e)
		}
	}
	diff.Outcome = compare(diff.RecordedLocks, diff.SimulatedLocks)
	return diff, nil
}

type verdict int

const (
	verdictUnknown verdict = iota
	verdictWrongPassword
	verdictWrongCode
	verdictRight
)

// loginVerdict finds the sign-in in a command's events and what it tells of the credentials.
func loginVerdict(group []eventlog.Decoded) (*domain.Origin, verdict) {
	for _, d := range group {
		switch e := d.Event.Data.(type) {
		case domain.LoginSucceeded:
			return &e.Origin, verdictRight
		case domain.LoginFailed:
			return &e.Origin, verdictWrongPassword
		case domain.MFACodeRejected:
			return &e.Origin, verdictWrongCode
		case domain.LoginRejected:
			if e.CredentialsVerified {
				return &e.Origin, verdictRight
			}
			return &e.Origin, verdictUnknown
		}
	}
	return nil, verdictUnknown
}

func recordedAllowed(group []eventlog.Decoded) bool {
	for _, d := range group {
		if _, ok := d.Event.Data.(domain.LoginSucceeded); ok {
			return true
		}
	}
	return false
}

func simulatedAllowed(out []domain.Event) bool {
	for _, e := range out {
		if _, ok := e.Data.(domain.LoginSucceeded); ok {
			return true
		}
	}
	return false
}

func compare(rec, sim []time.Time) string {
	switch {
	case len(rec) == 0 && len(sim) == 0:
		return OutcomeUnchanged
	case len(sim) == 0:
		return OutcomeNeverLocked
	case len(rec) == 0:
		return OutcomeNewlyLocked
	case sim[0].Before(rec[0]):
		return OutcomeLockedEarlier
	case sim[0].After(rec[0]):
		return OutcomeLockedLater
	case len(sim) > len(rec):
		return OutcomeMoreLocks
	case len(sim) < len(rec):
		return OutcomeFewerLocks
	}
	return OutcomeUnchanged
}

// What-if replays decide again on a simulated state: it reads the whole stream (no snapshot
// applies, the simulated fold is not the recorded one).
// accountLog is an account's stream with the streams of every property it ever belonged to.
type accountLog struct {
	events     []eventlog.Decoded
	properties map[string][]eventlog.Decoded
}

func (r *Reader) loadAccount(ctx context.Context, accountID string) (*accountLog, error) {
	evs, err := r.readStream(ctx, domain.AccountStream(accountID))
	if err != nil {
		return nil, err
	}
	if len(evs) == 0 {
		return nil, &Error{Code: CodeAccountNotFound, Message: "account does not exist"}
	}
	l := &accountLog{events: evs, properties: map[string][]eventlog.Decoded{}}
	for _, d := range evs {
		var pid string
		switch e := d.Event.Data.(type) {
		case domain.AccountRegistered:
			pid = e.PropertyID
		case domain.LinkedToProperty:
			pid = e.PropertyID
		}
		if pid == "" {
			continue
		}
		if _, done := l.properties[pid]; done {
			continue
		}
		pevs, err := r.readStream(ctx, domain.PropertyStream(pid))
		if err != nil {
			return nil, err
		}
		l.properties[pid] = pevs
	}
	return l, nil
}

// propertiesAt folds each property's events that happened at or before at.
func (l *accountLog) propertiesAt(at time.Time) []domain.Property {
	out := make([]domain.Property, 0, len(l.properties))
	ids := make([]string, 0, len(l.properties))
	for id := range l.properties {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		var p domain.Property
		for _, d := range l.properties[id] {
			if d.Event.At.After(at) {
				break
			}
			p = domain.EvolveProperty(p, d.Event)
		}
		out = append(out, p)
	}
	return out
}
