package scenario

import (
	"accountd/eventstore/eventlog"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"accountd/commands"
	"accountd/domain"
	"accountd/domain/credentials"
	"accountd/eventstore"
	"accountd/eventstore/memory"
	"accountd/eventstore/snapshot"
)

// Failure is a story line whose step or check did not go as written.
type Failure struct {
	File    string
	Line    int
	Text    string
	Problem string
	// Situation is what the engine shows at that moment: events since the window opened,
	// statuses, the last login; the reader compares it with the story.
	Situation string
}

func (f *Failure) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d: %s\n", f.File, f.Line, f.Text)
	b.WriteString(indent(f.Problem, "    "))
	if f.Situation != "" {
		b.WriteString("\n    what happened instead:\n")
		b.WriteString(indent(f.Situation, "      "))
	}
	return b.String()
}

func indent(s, by string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = by + l
	}
	return strings.Join(lines, "\n")
}

// Run plays a story on a fresh in-memory log with the story's own clock and policy, and
// returns the first line that does not hold (a *Failure), or nil.
func Run(ctx context.Context, st *Story) error {
	r, err := newRunner(ctx, st, RunOptions{})
	if err != nil {
		return err
	}
	return r.run()
}

// RunOptions change how the command side is built for a story, never what the story says.
type RunOptions struct {
	// SnapshotEvery > 0 keeps snapshots in memory every that many events, with no aggregate
	// cache, so that every command and check starts from a snapshot.
	SnapshotEvery int
}

// Played is a story's world after it ran: the log, the snapshots, the service, its people.
type Played struct {
	Store     *memory.Store
	Snapshots *snapshot.Memory
	Key       []byte // the snapshots' sealing secret
	Service   *commands.Service
	Accounts  []string // account IDs in order of registration
	Now       time.Time
	Policy    domain.Policy
}

// RunWith plays a story as Run does, with opts, and returns what it played on.
func RunWith(ctx context.Context, st *Story, opts RunOptions) (*Played, error) {
	r, err := newRunner(ctx, st, opts)
	if err != nil {
		return nil, err
	}
	err = r.run()
	pl := &Played{Store: r.store, Snapshots: r.snaps, Key: r.snapKey, Service: r.svc, Now: r.clock.Now(), Policy: r.currentPolicy()}
	for _, name := range r.order {
		if p := r.people[name]; p != nil && p.id != "" {
			pl.Accounts = append(pl.Accounts, p.id)
		}
	}
	return pl, err
}

type runner struct {
	ctx     context.Context
	story   *Story
	clock   *clock
	store   *memory.Store
	snaps   *snapshot.Memory
	snapKey []byte
	svc     *commands.Service
	forger  *credentials.LinkKey
	ids     atomic.Int64

	mu     sync.Mutex // the policy and the common list are read by logins running at once
	policy domain.Policy
	common map[string]bool

	people map[string]*person
	order  []string // people in order of registration: the sweep visits them in this order
	props  []string

	step     *Step
	marks    map[string]uint64 // stream -> revision the current window starts at
	markLine int               // the line the window opened at (0: the story's start)

	lastLogin *commands.LoginResult
	atOnce    bool
	pending   *pendingError
}

type person struct {
	name     string
	email    string
	id       string
	links    map[string][]string // kind -> tokens in the order they were e-mailed
	secret   string              // base32 TOTP secret of the latest enrolment
	lastCode string
	session  string               // the latest session a login opened
	used     *domain.SessionCheck // what the latest use of that session was told
}

type pendingError struct {
	step *Step
	err  error
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.now = t }

func newRunner(ctx context.Context, st *Story, opts RunOptions) (*runner, error) {
	r := &runner{ctx: ctx, story: st, clock: &clock{}, policy: domain.DefaultPolicy(), common: map[string]bool{},
		people: map[string]*person{}, marks: map[string]uint64{}}
	r.store = memory.New(memory.WithClock(r.clock.Now))
	// Argon2id as in production, at a cost a test run can afford hundreds of times.
	hasher, err := credentials.NewHasher(credentials.Argon2Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32})
	if err != nil {
		return nil, err
	}
	mfa, err := credentials.NewMFA(randomKey(), "accountd-scenario")
	if err != nil {
		return nil, err
	}
	links, err := credentials.NewLinkKey(randomKey())
	if err != nil {
		return nil, err
	}
	// A forger knows the token format but not the service's key.
	if r.forger, err = credentials.NewLinkKey(randomKey()); err != nil {
		return nil, err
	}
	cfg := commands.Config{
		Store: r.store, Clock: r.clock.Now, Policy: r.currentPolicy, Hasher: hasher, MFA: mfa, Links: links,
		IsCommonPassword: r.isCommon,
		// Readable, deterministic IDs make a failure message easy to follow.
		NewID: func() string { return fmt.Sprintf("id-%03d", r.ids.Add(1)) },
	}
	if opts.SnapshotEvery > 0 {
		r.snaps, r.snapKey = snapshot.NewMemory(), randomKey()
		cfg.Snapshots, cfg.SnapshotKey, cfg.SnapshotEvery = r.snaps, r.snapKey, opts.SnapshotEvery
		cfg.Options = []commands.RepositoryOption{commands.WithCacheSize(0)}
	}
	r.svc, err = commands.NewService(cfg)
	return r, err
}

func randomKey() []byte {
	key := make([]byte, 32)
	rand.Read(key) // never fails (crypto/rand, Go 1.24+)
	return key
}

func (r *runner) currentPolicy() domain.Policy { r.mu.Lock(); defer r.mu.Unlock(); return r.policy }

func (r *runner) isCommon(pw string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.common[strings.ToLower(pw)]
}

func (r *runner) run() error {
	prevCheck := false
	for i := range r.story.Steps {
		st := &r.story.Steps[i]
		r.step = st
		isCheck := st.Do.expectation()
		if !isCheck {
			if err := r.unchecked(); err != nil {
				return err
			}
			// A window of events closes at each group of checks and at each change of time,
			// so "expect events" reads as "what just happened".
			if _, isAt := st.Do.(At); prevCheck || isAt {
				if err := r.openWindow(st.Line); err != nil {
					return err
				}
			}
		}
		var err error
		if isCheck {
			err = r.check(st.Do)
		} else {
			err = r.act(st.Do)
		}
		if err != nil {
			var f *Failure
			if errors.As(err, &f) {
				return f
			}
			return r.failure("%v", err)
		}
		prevCheck = isCheck
	}
	return r.unchecked()
}

// unchecked fails on a refusal nobody expected: a story states every error it causes.
func (r *runner) unchecked() error {
	if r.pending == nil {
		return nil
	}
	p := r.pending
	r.step = p.step
	return r.failure("the engine refused this step: %v\n(if that is intended, follow it with `expect error %s`)", p.err, domain.ErrorCode(p.err))
}

func (r *runner) failure(format string, args ...any) *Failure {
	return &Failure{File: r.story.File, Line: r.step.Line, Text: r.step.Text, Problem: fmt.Sprintf(format, args...), Situation: r.situation()}
}

func (r *runner) meta(i int) commands.Meta {
	return commands.Meta{
		CommandID:     fmt.Sprintf("line-%d.%d", r.step.Line, i),
		CorrelationID: fmt.Sprintf("%s:%d", r.story.File, r.step.Line),
	}
}

// outcome turns a command's error into the story's terms: a domain refusal waits for an
// `expect error` line; anything else (a broken store, a bug) stops the story.
func (r *runner) outcome(err error) error {
	if err == nil {
		return nil
	}
	if domain.ErrorCode(err) != "" {
		r.pending = &pendingError{step: r.step, err: err}
		return nil
	}
	return err
}

func (r *runner) person(name string) *person { return r.people[name] }

func (r *runner) account(name string) (*person, error) {
	p := r.people[name]
	if p == nil || p.id == "" {
		return nil, fmt.Errorf("%s has no account: the registration did not succeed", name)
	}
	return p, nil
}

func (r *runner) actor(a Actor) (domain.Actor, error) {
	if a.Person == "" {
		return domain.Actor{Kind: domain.ActorSupport, Reference: a.SupportRef}, nil
	}
	p, err := r.account(a.Person)
	if err != nil {
		return domain.Actor{}, err
	}
	return domain.Actor{Kind: domain.ActorAccount, AccountID: p.id}, nil
}

// setup is who performs the story's arrangements (memberships, grants, billing): the system.
var setup = domain.Actor{Kind: domain.ActorSystem, Note: "scenario setup"}

func (r *runner) act(a Action) error {
	ctx, svc, m := r.ctx, r.svc, r.meta(0)
	switch a := a.(type) {
	case At:
		r.clock.set(a.Time)
		return nil
	case SetPolicy:
		return r.setPolicy(a)
	case CommonPassword:
		r.mu.Lock()
		r.common[strings.ToLower(a.Password)] = true
		r.mu.Unlock()
		return nil
	case CreateProperty:
		r.props = append(r.props, a.Alias)
		_, err := svc.Property(ctx, m, a.Alias, domain.CreateProperty{PropertyID: a.Alias, Name: a.Name, PrimaryContactEmail: a.Contact})
		return r.outcome(err)
	case AddMember:
		p, err := r.account(a.Person)
		if err != nil {
			return err
		}
		if _, err := svc.Account(ctx, m, p.id, domain.LinkToProperty{PropertyID: a.Property}); err != nil {
			return r.outcome(err)
		}
		_, err = svc.Property(ctx, r.meta(1), a.Property, domain.AddMember{AccountID: p.id, Actor: setup})
		return r.outcome(err)
	case UserManagement:
		p, err := r.account(a.Person)
		if err != nil {
			return err
		}
		var cmd domain.PropertyCommand = domain.GrantUserManagement{AccountID: p.id, Actor: setup}
		if a.Revoke {
			cmd = domain.RevokeUserManagement{AccountID: p.id, Actor: setup}
		}
		_, err = svc.Property(ctx, m, a.Property, cmd)
		return r.outcome(err)
	case Register:
		return r.register(a)
	case Activate:
		tok, err := r.link(a.Person, a.Link)
		if err != nil {
			return err
		}
		_, err = svc.Activate(ctx, m, tok)
		return r.outcome(err)
	case ResendActivation:
		p, err := r.account(a.Person)
		if err != nil {
			return err
		}
		res, err := svc.ResendActivation(ctx, m, p.id)
		r.received(p, domain.LinkActivation, res.Token)
		return r.outcome(err)
	case Login:
		return r.login(a)
	case RequestReset:
		p := r.person(a.Person)
		res, err := svc.RequestPasswordReset(ctx, m, p.email)
		r.received(p, domain.LinkReset, res.Token)
		return r.outcome(err)
	case ResetPassword:
		tok, err := r.link(a.Person, a.Link)
		if err != nil {
			return err
		}
		_, err = svc.ResetPassword(ctx, m, tok, a.NewPassword)
		return r.outcome(err)
	case RequestUnlock:
		p := r.person(a.Person)
		res, err := svc.RequestUnlockLink(ctx, m, p.email)
		r.received(p, domain.LinkUnlock, res.Token)
		return r.outcome(err)
	case UnlockWithLink:
		tok, err := r.link(a.Person, a.Link)
		if err != nil {
			return err
		}
		_, err = svc.Unlock(ctx, m, tok)
		return r.outcome(err)
	case ChangePassword:
		p, err := r.account(a.Person)
		if err != nil {
			return err
		}
		_, err = svc.ChangePassword(ctx, m, p.id, a.Current, a.New, domain.Origin{})
		return r.outcome(err)
	case StartMFA:
		p, err := r.account(a.Person)
		if err != nil {
			return err
		}
		enr, err := svc.StartMFAEnrolment(ctx, m, p.id)
		if err == nil {
			p.secret = enr.Secret
		}
		return r.outcome(err)
	case ConfirmMFA:
		p, err := r.account(a.Person)
		if err != nil {
			return err
		}
		code, err := r.code(p, a.Code)
		if err != nil {
			return err
		}
		p.lastCode = code
		_, err = svc.ConfirmMFAEnrolment(ctx, m, p.id, code)
		return r.outcome(err)
	case DeferMFA:
		p, err := r.account(a.Person)
		if err != nil {
			return err
		}
		_, err = svc.DeferMFAEnrolment(ctx, m, p.id)
		return r.outcome(err)
	case ResetMFA:
		p, err := r.account(a.Person)
		if err != nil {
			return err
		}
		by, err := r.actor(a.By)
		if err != nil {
			return err
		}
		var code string
		if a.Code != nil {
			if code, err = r.code(p, *a.Code); err != nil {
				return err
			}
			p.lastCode = code
		}
		_, err = svc.ResetMFA(ctx, m, p.id, by, code, domain.Origin{})
		return r.outcome(err)
	case AdminUnlock:
		p, by, err := r.target(a.Person, a.By)
		if err != nil {
			return err
		}
		_, err = svc.UnlockByAdministrator(ctx, m, p.id, by)
		return r.outcome(err)
	case Disable:
		p, by, err := r.target(a.Person, a.By)
		if err != nil {
			return err
		}
		kind := domain.DisableManual
		if a.Suspicious {
			kind = domain.DisableSuspiciousActivity
		}
		_, err = svc.Disable(ctx, m, p.id, domain.DisableAccount{Kind: kind, PropertyID: a.Property, Actor: by})
		return r.outcome(err)
	case Enable:
		p, by, err := r.target(a.Person, a.By)
		if err != nil {
			return err
		}
		_, err = svc.Enable(ctx, m, p.id, domain.EnableAccount{PropertyID: a.Property, Actor: by})
		return r.outcome(err)
	case Delete:
		p, by, err := r.target(a.Person, a.By)
		if err != nil {
			return err
		}
		_, err = svc.Delete(ctx, m, p.id, by)
		return r.outcome(err)
	case Invoice:
		var cmd domain.PropertyCommand = domain.MarkInvoiceOverdue{InvoiceID: a.Invoice}
		if a.Paid {
			cmd = domain.MarkInvoicePaid{InvoiceID: a.Invoice}
		}
		_, err := svc.Property(ctx, m, a.Property, cmd)
		return r.outcome(err)
	case ChangeSubscription:
		by := setup
		if a.By != nil {
			var err error
			if by, err = r.actor(*a.By); err != nil {
				return err
			}
		}
		_, err := svc.Property(ctx, m, a.Property, domain.ChangeSubscription{To: a.To, Actor: by})
		return r.outcome(err)
	case Detect:
		p, err := r.account(a.Person)
		if err != nil {
			return err
		}
		_, err = svc.RecordSuspiciousActivity(ctx, m, p.id, a.Rule, domain.Evidence{Addresses: a.Addresses, Devices: a.Devices}, !a.ForReview)
		return r.outcome(err)
	case UseSession:
		p, err := r.account(a.Person)
		if err != nil {
			return err
		}
		if p.session == "" {
			return fmt.Errorf("%s has not logged in successfully yet: there is no session to use", p.name)
		}
		check, err := svc.CheckSession(ctx, m, p.session)
		p.used = &check
		return r.outcome(err)
	case InactivitySweep:
		for i, name := range r.order {
			p := r.people[name]
			if p.id == "" {
				continue
			}
			if _, err := svc.Account(ctx, r.meta(i), p.id, domain.DisableIfInactive{}); err != nil {
				return r.outcome(err)
			}
		}
		return nil
	}
	return fmt.Errorf("the runner cannot play %T", a)
}

func (r *runner) target(name string, by Actor) (*person, domain.Actor, error) {
	p, err := r.account(name)
	if err != nil {
		return nil, domain.Actor{}, err
	}
	actor, err := r.actor(by)
	return p, actor, err
}

func (r *runner) setPolicy(a SetPolicy) error {
	pol := r.currentPolicy()
	for _, s := range a.Settings {
		if err := json.Unmarshal([]byte(`{"`+s.Name+`":`+s.JSON+`}`), &pol); err != nil {
			return fmt.Errorf("%s=%s: %v", s.Name, s.Value, err)
		}
	}
	if err := pol.Validate(); err != nil {
		// The policy in force stays as it was, as an operator's refused change would.
		return r.outcome(err)
	}
	r.mu.Lock()
	r.policy = pol
	r.mu.Unlock()
	return nil
}

func (r *runner) register(a Register) error {
	reg := commands.Registration{Email: a.Email, Password: a.Password, PropertyID: a.Property}
	if a.By != nil {
		by, err := r.actor(*a.By)
		if err != nil {
			return err
		}
		reg.Actor = by
	}
	res, err := r.svc.Register(r.ctx, r.meta(0), reg)
	p := r.people[a.Person]
	if p == nil {
		p = &person{name: a.Person, email: a.Email, links: map[string][]string{}}
		r.people[a.Person] = p
		r.order = append(r.order, a.Person)
	}
	if res.AccountID != "" {
		switch {
		case p.id == "":
			p.id = res.AccountID
		case p.id != res.AccountID:
			// R5.2: the address already has an account; a second one would split its history.
			return fmt.Errorf("registering %s again made a new account %s instead of restoring or linking %s's account %s", a.Email, res.AccountID, p.name, p.id)
		}
	}
	r.received(p, domain.LinkActivation, res.ActivationToken)
	return r.outcome(err)
}

// received records an e-mailed link, so later lines can say "the first reset link".
func (r *runner) received(p *person, kind, token string) {
	if p == nil || token == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	p.links[kind] = append(p.links[kind], token)
}

func (r *runner) link(name string, ref LinkRef) (string, error) {
	p, err := r.account(name)
	if err != nil {
		return "", err
	}
	if ref.Forged {
		l, err := r.forger.Issue(p.id)
		return l.Token, err
	}
	r.mu.Lock()
	list := p.links[ref.Kind]
	r.mu.Unlock()
	i := len(list) - 1
	switch {
	case ref.Nth == -1:
		i = len(list) - 2
	case ref.Nth > 0:
		i = ref.Nth - 1
	}
	if i < 0 || i >= len(list) {
		return "", fmt.Errorf("%s has received %d %s link(s), so there is no %s", name, len(list), ref.Kind, ref)
	}
	return list[i], nil
}

// code works out the TOTP code a person types, from their authenticator secret and the clock.
func (r *runner) code(p *person, ref CodeRef) (string, error) {
	now := r.clock.Now()
	at := func(t time.Time) (string, error) {
		if p.secret == "" {
			return "", fmt.Errorf("%s has no authenticator secret: the story must start an MFA enrolment first", p.name)
		}
		return credentials.CodeAt(p.secret, t.Unix()/30)
	}
	switch ref.Kind {
	case CodeCurrent:
		return at(now)
	case CodeOffset:
		return at(now.Add(ref.Offset))
	case CodeLiteral:
		return ref.Literal, nil
	case CodeAgain:
		if p.lastCode == "" {
			return "", fmt.Errorf("%s has not typed a code yet", p.name)
		}
		return p.lastCode, nil
	case CodeWrong:
		// Wrong whatever skew the policy allows (at most 3 steps either side).
		valid := map[string]bool{}
		for d := int64(-3); d <= 3; d++ {
			if p.secret != "" {
				c, err := credentials.CodeAt(p.secret, now.Unix()/30+d)
				if err != nil {
					return "", err
				}
				valid[c] = true
			}
		}
		for n := 0; ; n++ {
			if c := fmt.Sprintf("%06d", n*7919%1000000); !valid[c] {
				return c, nil
			}
		}
	}
	return "", fmt.Errorf("unknown code %q", ref.Kind)
}

func (r *runner) login(a Login) error {
	la := commands.LoginAttempt{Email: a.Email, Password: a.Password}
	if a.Code != nil {
		// One step happens at one instant: every attempt of it types the same code.
		p := r.person(a.Person)
		code, err := r.code(p, *a.Code)
		if err != nil {
			return err
		}
		la.TOTPCode, p.lastCode = code, code
	}
	attempt := func(i int) (commands.LoginResult, error) {
		res, err := r.svc.Login(r.ctx, r.meta(i), la)
		if p := r.person(a.Person); err == nil && p != nil {
			r.received(p, domain.LinkUnlock, res.UnlockToken)
			if res.SessionID != "" {
				r.mu.Lock()
				p.session = res.SessionID
				r.mu.Unlock()
			}
		}
		return res, err
	}
	r.lastLogin, r.atOnce = nil, a.AtOnce
	if !a.AtOnce {
		for i := range a.Times {
			res, err := attempt(i)
			if err != nil {
				return r.outcome(err)
			}
			r.lastLogin = &res
		}
		return nil
	}
	// R1.5: the attempts race each other; only the engine's concurrency control keeps count.
	errs := make([]error, a.Times)
	var wg sync.WaitGroup
	for i := range a.Times {
		wg.Go(func() { _, errs[i] = attempt(i) })
	}
	wg.Wait()
	return r.outcome(errors.Join(errs...))
}

// --- checks -------------------------------------------------------------------------------

func (r *runner) check(a Action) error {
	switch a := a.(type) {
	case ExpectError:
		return r.checkError(a)
	case ExpectPolicyError:
		return r.checkPolicyError(a)
	case ExpectDecision:
		return r.checkDecision(a)
	case ExpectStatus:
		p, err := r.account(a.Person)
		if err != nil {
			return err
		}
		st, err := r.svc.Status(r.ctx, p.id)
		if err != nil {
			return err
		}
		got := reasonCodes(st.Reasons)
		if st.Status != a.Status || !sameSet(got, a.Reasons) {
			return r.failure("wanted %s: %s\ngot    %s: %s", a.Person, statusText(a.Status, a.Reasons), a.Person, statusText(st.Status, got))
		}
		return nil
	case ExpectEvents:
		got, err := r.windowEvents(a.Stream)
		if err != nil {
			return err
		}
		var want []string
		for _, e := range a.Events {
			for range e.Times {
				want = append(want, e.Type)
			}
		}
		if !slices.Equal(got, want) {
			return r.failure("wanted events for %s: %s\ngot    events for %s: %s", a.Stream, compress(want), a.Stream, compress(got))
		}
		return nil
	case ExpectAccess:
		return r.checkAccess(a)
	case ExpectSession:
		return r.checkSession(a)
	case ExpectOpenSessions:
		p, err := r.account(a.Person)
		if err != nil {
			return err
		}
		acc, err := r.svc.LoadAccount(r.ctx, p.id)
		if err != nil {
			return err
		}
		// Open as the account state keeps them: started, not ended, and (as EvolveAccount
		// itself treats them) not past their closing time.
		now, n := r.clock.Now(), 0
		for _, s := range acc.Sessions {
			if now.Before(s.ExpiresAt) {
				n++
			}
		}
		if n != a.Count {
			return r.failure("wanted %d open session(s) for %s, got %d", a.Count, a.Person, n)
		}
		return nil
	case ExpectAudit:
		return r.checkAudit(a)
	}
	return fmt.Errorf("the runner cannot check %T", a)
}

func (r *runner) checkError(a ExpectError) error {
	if r.pending == nil {
		return r.failure("wanted error %s, but the step before succeeded", a.Code)
	}
	err := r.pending.err
	r.pending = nil
	if got := domain.ErrorCode(err); got != domain.Code(a.Code) {
		return r.failure("wanted error %s\ngot    %v", a.Code, err)
	}
	if a.Because != nil {
		var de *domain.Error
		var got []string
		if errors.As(err, &de) {
			for _, v := range de.Violations {
				got = append(got, v.Rule)
			}
		}
		if !sameSet(got, a.Because) {
			return r.failure("wanted %s because %s\ngot    %s because %s", a.Code, listText(a.Because), a.Code, listText(got))
		}
	}
	return nil
}

func (r *runner) checkPolicyError(a ExpectPolicyError) error {
	if r.pending == nil {
		return r.failure("wanted the policy to be refused for %s, but it was accepted", listText(a.Fields))
	}
	err := r.pending.err
	r.pending = nil
	var pe *domain.PolicyError
	if !errors.As(err, &pe) {
		return r.failure("wanted a policy error, got %v", err)
	}
	var got []string
	for _, p := range pe.Problems {
		if !slices.Contains(got, p.Field) {
			got = append(got, p.Field)
		}
	}
	if !sameSet(got, a.Fields) {
		return r.failure("wanted the policy refused for %s\ngot    %v", listText(a.Fields), err)
	}
	return nil
}

func (r *runner) checkDecision(a ExpectDecision) error {
	if r.lastLogin == nil {
		if r.atOnce {
			return r.failure("logins made at once have no single decision: check events and status instead")
		}
		return r.failure("there is no login attempt before this line")
	}
	o := r.lastLogin.LoginOutcome
	var bad []string
	if o.Decision != a.Decision {
		bad = append(bad, "decision")
	}
	if a.Reason != nil && o.Reason != *a.Reason {
		bad = append(bad, "reason")
	}
	if a.AttemptsRemaining != nil && o.AttemptsRemaining != *a.AttemptsRemaining {
		bad = append(bad, "attempts remaining")
	}
	if a.RetryAfter != nil && o.RetryAfter != *a.RetryAfter {
		bad = append(bad, "retry after")
	}
	if a.Warning != nil && o.LastAttemptWarning != *a.Warning {
		bad = append(bad, "last attempt warning")
	}
	if len(bad) == 0 {
		return nil
	}
	want := []string{"decision " + a.Decision}
	if a.Reason != nil {
		want = append(want, "reason "+*a.Reason)
	}
	if a.AttemptsRemaining != nil {
		want = append(want, fmt.Sprintf("attempts remaining %d", *a.AttemptsRemaining))
	}
	if a.RetryAfter != nil {
		want = append(want, "retry after "+domain.Duration(*a.RetryAfter).String())
	}
	if a.Warning != nil {
		want = append(want, map[bool]string{true: "last attempt warning", false: "no last attempt warning"}[*a.Warning])
	}
	return r.failure("the %s differ(s)\nwanted %s\ngot    %s", strings.Join(bad, ", "), strings.Join(want, ", "), outcomeText(o))
}

func outcomeText(o domain.LoginOutcome) string {
	s := fmt.Sprintf("decision %s", o.Decision)
	if o.Reason != "" {
		s += ", reason " + o.Reason
	}
	if len(o.Reasons) > 1 {
		s += " (reasons " + strings.Join(o.Reasons, ", ") + ")"
	}
	s += fmt.Sprintf(", attempts remaining %d", o.AttemptsRemaining)
	if o.RetryAfter != 0 {
		s += ", retry after " + domain.Duration(o.RetryAfter).String()
	}
	if o.LastAttemptWarning {
		s += ", last attempt warning"
	}
	return s
}

func (r *runner) checkAccess(a ExpectAccess) error {
	p, err := r.account(a.Person)
	if err != nil {
		return err
	}
	st, err := r.svc.Status(r.ctx, p.id)
	if err != nil {
		return err
	}
	text := func(id string, allowed bool, reasons []string) string {
		s := id + " " + map[bool]string{true: "allowed", false: "denied"}[allowed]
		if len(reasons) > 0 {
			s += " (" + strings.Join(reasons, ", ") + ")"
		}
		return s
	}
	var got, want []string
	ok := len(st.Properties) == len(a.Properties)
	for _, pa := range st.Properties {
		got = append(got, text(pa.PropertyID, pa.Allowed, reasonCodes(pa.Reasons)))
	}
	for _, w := range a.Properties {
		want = append(want, text(w.Property, w.Allowed, w.Reasons))
		i := slices.IndexFunc(st.Properties, func(pa domain.PropertyAccess) bool { return pa.PropertyID == w.Property })
		if i < 0 || st.Properties[i].Allowed != w.Allowed || (w.Reasons != nil && !sameSet(reasonCodes(st.Properties[i].Reasons), w.Reasons)) {
			ok = false
		}
	}
	if !ok {
		return r.failure("wanted access for %s: %s\ngot    access for %s: %s", a.Person, strings.Join(want, ", "), a.Person, strings.Join(got, ", "))
	}
	return nil
}

func (r *runner) checkSession(a ExpectSession) error {
	p, err := r.account(a.Person)
	if err != nil {
		return err
	}
	evs, err := r.decoded(domain.AccountStream(p.id), 0)
	if err != nil {
		return err
	}
	var last *domain.Event
	for i := range evs {
		if _, ok := evs[i].Data.(domain.SessionStarted); ok {
			last = &evs[i]
		}
	}
	if last == nil {
		return r.failure("%s has never started a session", a.Person)
	}
	s := last.Data.(domain.SessionStarted)
	var bad []string
	if a.Valid != nil || a.ClosedBecause != "" {
		switch u := p.used; {
		case u == nil:
			bad = append(bad, fmt.Sprintf("%s has not used a session since logging in: write `%s uses her session` first", a.Person, a.Person))
		case a.Valid != nil && *a.Valid && !u.Valid:
			bad = append(bad, fmt.Sprintf("wanted it valid; the last use was refused because %s", u.Reason))
		case a.ClosedBecause != "" && (u.Valid || string(u.Reason) != a.ClosedBecause):
			got := "it was valid"
			if !u.Valid {
				got = "it was closed because " + string(u.Reason)
			}
			bad = append(bad, fmt.Sprintf("wanted it closed because %s; %s", a.ClosedBecause, got))
		}
	}
	if a.ClosesAfter != nil && s.ExpiresAt.Sub(last.At) != *a.ClosesAfter {
		bad = append(bad, fmt.Sprintf("wanted it to close after %s, it closes after %s", domain.Duration(*a.ClosesAfter), domain.Duration(s.ExpiresAt.Sub(last.At))))
	}
	if a.ClosesAt != nil && !s.ExpiresAt.Equal(*a.ClosesAt) {
		bad = append(bad, fmt.Sprintf("wanted it to close at %s, it closes at %s", a.ClosesAt.Format(time.RFC3339), s.ExpiresAt.UTC().Format(time.RFC3339)))
	}
	if a.IdleAfter != nil && s.IdleAfter.Std() != *a.IdleAfter {
		bad = append(bad, fmt.Sprintf("wanted it idle after %s, it is idle after %s", domain.Duration(*a.IdleAfter), s.IdleAfter))
	}
	if len(bad) > 0 {
		return r.failure("session %s started %s:\n%s", s.SessionID, last.At.Format(time.RFC3339), strings.Join(bad, "\n"))
	}
	return nil
}

func (r *runner) checkAudit(a ExpectAudit) error {
	p, err := r.account(a.Person)
	if err != nil {
		return err
	}
	recs, err := r.records(domain.AccountStream(p.id), 0)
	if err != nil {
		return err
	}
	var rec *eventstore.RecordedEvent
	for i := range recs {
		if eventName(recs[i].Type) == "suspicious_activity_detected" {
			rec = &recs[i]
		}
	}
	if rec == nil {
		return r.failure("%s's timeline holds no suspicious-activity record", a.Person)
	}
	dec, err := eventlog.Decode(*rec)
	if err != nil {
		return err
	}
	d := dec.Event.Data.(domain.SuspiciousActivityDetected)
	var bad []string
	if d.Rule != a.Rule {
		bad = append(bad, fmt.Sprintf("wanted rule %q, got %q", a.Rule, d.Rule))
	}
	if a.Addresses != nil && !sameSet(d.Evidence.Addresses, a.Addresses) {
		bad = append(bad, fmt.Sprintf("wanted addresses %s, got %s", listText(a.Addresses), listText(d.Evidence.Addresses)))
	}
	if a.Devices != nil && !sameSet(d.Evidence.Devices, a.Devices) {
		bad = append(bad, fmt.Sprintf("wanted devices %s, got %s", listText(a.Devices), listText(d.Evidence.Devices)))
	}
	if a.Action != "" && d.Action != a.Action {
		bad = append(bad, fmt.Sprintf("wanted action %s, got %s", a.Action, d.Action))
	}
	// Whatever shape the record takes, who was notified must be written in it (R3.3).
	if a.Notified != "" && !strings.Contains(strings.ToLower(string(rec.Data)), strings.ToLower(a.Notified)) {
		bad = append(bad, fmt.Sprintf("wanted the record to name %s as notified; it does not: %s", a.Notified, rec.Data))
	}
	if len(bad) > 0 {
		return r.failure("%s", strings.Join(bad, "\n"))
	}
	return nil
}

// --- the log --------------------------------------------------------------------------------

func (r *runner) records(stream string, from uint64) ([]eventstore.RecordedEvent, error) {
	recs, err := r.store.ReadStream(r.ctx, stream, from, 1<<20)
	if errors.Is(err, eventstore.ErrStreamNotFound) {
		return nil, nil
	}
	return recs, err
}

func (r *runner) decoded(stream string, from uint64) ([]domain.Event, error) {
	recs, err := r.records(stream, from)
	if err != nil {
		return nil, err
	}
	out := make([]domain.Event, 0, len(recs))
	for _, rec := range recs {
		d, err := eventlog.Decode(rec)
		if err != nil {
			return nil, err
		}
		out = append(out, d.Event)
	}
	return out, nil
}

func (r *runner) streamOf(name string) (string, error) {
	if slices.Contains(r.props, name) {
		return domain.PropertyStream(name), nil
	}
	p, err := r.account(name)
	if err != nil {
		return "", err
	}
	return domain.AccountStream(p.id), nil
}

func (r *runner) openWindow(line int) error {
	names := slices.Concat(r.order, r.props)
	for _, n := range names {
		stream, err := r.streamOf(n)
		if err != nil {
			continue // nobody's stream yet
		}
		recs, err := r.records(stream, r.marks[stream])
		if err != nil {
			return err
		}
		r.marks[stream] += uint64(len(recs))
	}
	r.markLine = line
	return nil
}

func (r *runner) windowEvents(name string) ([]string, error) {
	stream, err := r.streamOf(name)
	if err != nil {
		return nil, err
	}
	recs, err := r.records(stream, r.marks[stream])
	if err != nil {
		return nil, err
	}
	out := make([]string, len(recs))
	for i, rec := range recs {
		out[i] = eventName(rec.Type)
	}
	return out, nil
}

// situation describes the people a failing line is about: their events in the current
// window and their status, and the last login's outcome.
func (r *runner) situation() string {
	names := stepNames(r.step.Do)
	if len(names) == 0 {
		names = slices.Concat(r.order, r.props)
	}
	since := "the start of the story"
	if r.markLine > 0 {
		since = fmt.Sprintf("line %d", r.markLine)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "clock: %s\n", r.clock.Now().Format(time.RFC3339))
	for _, n := range names {
		if slices.Contains(r.props, n) {
			evs, _ := r.windowEvents(n)
			fmt.Fprintf(&b, "property %s, events since %s: %s\n", n, since, compress(evs))
			continue
		}
		p := r.people[n]
		if p == nil || p.id == "" {
			fmt.Fprintf(&b, "%s: no account\n", n)
			continue
		}
		evs, _ := r.windowEvents(n)
		fmt.Fprintf(&b, "%s (account %s), events since %s: %s\n", n, p.id, since, compress(evs))
		if st, err := r.svc.Status(r.ctx, p.id); err == nil {
			fmt.Fprintf(&b, "%s's status: %s", n, st.Status)
			for _, rs := range st.Reasons {
				fmt.Fprintf(&b, ", %s since %s", rs.Code, rs.Since.UTC().Format(time.RFC3339))
			}
			fmt.Fprintf(&b, "; failed attempts %d, attempts remaining %d\n", st.FailedAttempts, st.AttemptsRemaining)
		}
	}
	if r.lastLogin != nil {
		fmt.Fprintf(&b, "last login: %s\n", outcomeText(r.lastLogin.LoginOutcome))
	}
	return b.String()
}

// stepNames finds the people and properties a step names, through its fields, so the
// failure report stays on them.
func stepNames(a Action) []string {
	var out []string
	v := reflect.ValueOf(a)
	for i := range v.NumField() {
		f, name := v.Field(i), v.Type().Field(i).Name
		switch {
		case (name == "Person" || name == "Stream" || name == "Property") && f.Kind() == reflect.String && f.String() != "":
			out = append(out, f.String())
		case f.Type() == reflect.TypeFor[Actor]() && f.Interface().(Actor).Person != "":
			out = append(out, f.Interface().(Actor).Person)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func reasonCodes(rs []domain.Reason) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Code
	}
	return out
}

// sameSet compares as sets: a reason given by two properties is one reason to a reader.
func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	sort.Strings(x)
	sort.Strings(y)
	return slices.Equal(slices.Compact(x), slices.Compact(y))
}

func statusText(status string, reasons []string) string {
	if len(reasons) == 0 {
		return status + " with no reasons"
	}
	return status + " with reasons " + strings.Join(reasons, ", ")
}

func listText(l []string) string {
	if len(l) == 0 {
		return "(nothing)"
	}
	return strings.Join(l, ", ")
}

// compress writes a run of equal events as "name xN", the way stories do.
func compress(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	var parts []string
	for i := 0; i < len(names); {
		j := i
		for j < len(names) && names[j] == names[i] {
			j++
		}
		if j-i > 1 {
			parts = append(parts, fmt.Sprintf("%s x%d", names[i], j-i))
		} else {
			parts = append(parts, names[i])
		}
		i = j
	}
	return strings.Join(parts, ", ")
}
