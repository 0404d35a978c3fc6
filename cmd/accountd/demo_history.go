package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"accountd/commands"
	"accountd/commands/credentials"
	"accountd/domain"
)

// demoRun writes the history through the real command side. It is single-threaded on
// purpose: the service's clock is the demo's clock, which walks forward through the months,
// and every command runs at the instant the schedule gives it.
type demoRun struct {
	ctx      context.Context
	svc      *commands.Service
	rng      *rand.Rand
	seed     uint64
	now      time.Time
	end      time.Time
	seq      int
	props    []demoProperty
	accounts []*demoAccount
	stats    map[string]int
	// billingDay is when the first overdue invoice falls (mid-history).
	billingDay int
}

// demoAction is one scheduled piece of the history.
type demoAction struct {
	at  time.Time
	run func() error
}

func (d *demoRun) clock() time.Time { return d.now }

// meta gives each command an ID derived from the seed, so the event IDs (derived from
// command IDs) are the same for the same seed.
func (d *demoRun) meta() commands.Meta {
	d.seq++
	return commands.Meta{CommandID: fmt.Sprintf("demo/%d/%d", d.seed, d.seq)}
}

func (d *demoRun) wait(lo, hi time.Duration) {
	d.now = d.now.Add(lo + time.Duration(d.rng.Int64N(int64(hi-lo)+1)))
}

// refused counts a domain refusal and lets the story go on; any other error stops the demo.
func (d *demoRun) refused(what string, err error) error {
	var de *domain.Error
	if errors.As(err, &de) {
		d.stats["refused: "+what+" ("+string(de.Code)+")"]++
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

// days walks the calendar, running each day's actions in time order.
func (d *demoRun) days(start time.Time, progress func(done, total int)) error {
	total := int(d.end.Sub(start).Hours()/24) + 1
	for day := 0; day < total; day++ {
		date := start.AddDate(0, 0, day)
		acts := d.schedule(day, date)
		sort.SliceStable(acts, func(i, j int) bool { return acts[i].at.Before(acts[j].at) })
		for _, a := range acts {
			if !a.at.Before(d.end) {
				continue
			}
			if a.at.After(d.now) {
				d.now = a.at
			}
			if err := a.run(); err != nil {
				return err
			}
		}
		progress(day+1, total)
	}
	return nil
}

// schedule lists what happens on one day.
func (d *demoRun) schedule(day int, date time.Time) []demoAction {
	var acts []demoAction
	at := func(h, m int) time.Time { return date.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	if day == 0 {
		for i := range d.props {
			p := d.props[i]
			acts = append(acts, demoAction{at(8, i%60), func() error { return d.createProperty(p) }})
		}
	}
	weekday := date.Weekday() != time.Saturday && date.Weekday() != time.Sunday
	for _, a := range d.accounts {
		switch {
		case day == a.registerDay:
			acts = append(acts, demoAction{at(9+d.rng.IntN(8), d.rng.IntN(60)), func() error { return d.register(a) }})
		case day > a.registerDay && a.id != "" && !a.neverActive && weekday && d.rng.Float64() < a.loginProb:
			base := 7 + 8*a.shift
			acts = append(acts, demoAction{at(base+d.rng.IntN(2), d.rng.IntN(60)), d.workday(a)})
		}
	}
	acts = append(acts, d.billing(day, at)...)
	return acts
}

// workday is one sign-in, with what sometimes comes with it: a typo, a lockout and the
// unlock link, a forgotten password, a rotation that was due.
func (d *demoRun) workday(a *demoAccount) func() error {
	r := d.rng.IntN(1000)
	if a.lockoutFirst {
		a.lockoutFirst, r = false, 0
	}
	return func() error {
		o := domain.Origin{IP: a.ip, UserAgent: "Mozilla/5.0 (demo front desk)", DeviceID: a.device}
		switch {
		case r < 3:
			if err := d.lockout(a, o); err != nil {
				return err
			}
		case r < 6:
			if err := d.forgotten(a); err != nil {
				return err
			}
		case r < 60:
			if _, err := d.svc.Login(d.ctx, d.meta(), commands.LoginAttempt{Email: a.email, Password: a.password + "1", Origin: o}); err != nil {
				return d.refused("typo", err)
			}
			d.stats["typos (wrong password, then the right one)"]++
			d.wait(10*time.Second, time.Minute)
		}
		if err := d.signIn(a, o); err != nil {
			return err
		}
		if d.now.Sub(a.lastChange) >= a.rotateEvery {
			d.wait(time.Minute, 10*time.Minute)
			return d.changePassword(a, o, "password rotations (before expiry)")
		}
		return nil
	}
}

// signIn is a person with the right password doing what the answer asks until they are
// in, or refused for a reason they cannot fix at the desk (billing, a detection).
func (d *demoRun) signIn(a *demoAccount, o domain.Origin) error {
	for range 5 {
		res, err := d.svc.Login(d.ctx, d.meta(), commands.LoginAttempt{Email: a.email, Password: a.password, TOTPCode: d.code(a), Origin: o})
		if err != nil {
			return d.refused("login", err)
		}
		switch res.Decision {
		case domain.DecisionAllowed:
			d.stats["successful logins"]++
			return nil
		case domain.DecisionMFAEnrollmentRequired:
			if a.deferMFA && !a.deferred {
				a.deferred = true
				if _, err := d.svc.DeferMFAEnrolment(d.ctx, d.meta(), a.id); err != nil {
					return d.refused("defer MFA", err)
				}
				d.stats["MFA enrolments deferred"]++
				continue
			}
			if err := d.enrol(a); err != nil {
				return err
			}
		case domain.DecisionPasswordChangeRequired:
			if err := d.changePassword(a, o, "password changes forced by expiry (past 90 days)"); err != nil {
				return err
			}
		default:
			if res.Reason == domain.ReasonAccountLocked {
				if err := d.unlockByRequest(a); err != nil {
					return err
				}
				continue
			}
			d.stats["logins refused: "+res.Reason]++
			return nil
		}
		d.wait(31*time.Second, 90*time.Second)
	}
	d.stats["gave up signing in"]++
	return nil
}

// code is the current TOTP code of an enrolled account, moving the clock to the next step
// when this one was already used (a code is never accepted twice).
func (d *demoRun) code(a *demoAccount) string {
	if a.secret == "" {
		return ""
	}
	step := d.now.Unix() / 30
	if step <= a.lastStep {
		step = a.lastStep + 1
		d.now = time.Unix(step*30, 0).UTC()
	}
	a.lastStep = step
	c, _ := credentials.CodeAt(a.secret, step)
	return c
}

func (d *demoRun) enrol(a *demoAccount) error {
	enr, err := d.svc.StartMFAEnrolment(d.ctx, d.meta(), a.id)
	if err != nil {
		return d.refused("start MFA enrolment", err)
	}
	d.wait(20*time.Second, time.Minute)
	a.secret = enr.Secret
	if _, err := d.svc.ConfirmMFAEnrolment(d.ctx, d.meta(), a.id, d.code(a)); err != nil {
		a.secret = ""
		return d.refused("confirm MFA enrolment", err)
	}
	d.stats["MFA enrolments"]++
	return nil
}

func (d *demoRun) changePassword(a *demoAccount, o domain.Origin, what string) error {
	a.rotations++
	next := demoPassword(a)
	if _, err := d.svc.ChangePassword(d.ctx, d.meta(), a.id, a.password, next, o); err != nil {
		a.rotations--
		return d.refused("change password", err)
	}
	a.password, a.lastChange = next, d.now
	d.stats[what]++
	return nil
}

// lockout: six wrong passwords in a row lock the account; the unlock link e-mailed at lock
// time is followed a little later.
func (d *demoRun) lockout(a *demoAccount, o domain.Origin) error {
	for range d.svc.Policy().LockoutThreshold {
		res, err := d.svc.Login(d.ctx, d.meta(), commands.LoginAttempt{Email: a.email, Password: "Wrong-Guess-" + a.password[:4], Origin: o})
		if err != nil {
			return d.refused("wrong password", err)
		}
		d.wait(5*time.Second, 40*time.Second)
		if res.UnlockToken != "" {
			d.stats["lockouts"]++
			d.wait(5*time.Minute, 40*time.Minute)
			if _, err := d.svc.Unlock(d.ctx, d.meta(), res.UnlockToken); err != nil {
				return d.refused("unlock by link", err)
			}
			d.stats["unlocks by link"]++
			return nil
		}
	}
	return nil
}

// unlockByRequest: "didn't receive unlock instructions?" asks for a new link.
func (d *demoRun) unlockByRequest(a *demoAccount) error {
	l, err := d.svc.RequestUnlockLink(d.ctx, d.meta(), a.email)
	if err != nil {
		return d.refused("request unlock link", err)
	}
	d.wait(2*time.Minute, 10*time.Minute)
	if _, err := d.svc.Unlock(d.ctx, d.meta(), l.Token); err != nil {
		return d.refused("unlock by requested link", err)
	}
	d.stats["unlocks by requested link"]++
	return nil
}

// forgotten: a reset link, followed within minutes, sets a new password.
func (d *demoRun) forgotten(a *demoAccount) error {
	l, err := d.svc.RequestPasswordReset(d.ctx, d.meta(), a.email)
	if err != nil {
		return d.refused("request reset", err)
	}
	d.wait(2*time.Minute, 20*time.Minute)
	a.rotations++
	next := demoPassword(a)
	if _, err := d.svc.ResetPassword(d.ctx, d.meta(), l.Token, next); err != nil {
		a.rotations--
		return d.refused("reset password", err)
	}
	a.password, a.lastChange = next, d.now
	d.stats["password resets by link"]++
	return nil
}

func (d *demoRun) createProperty(p demoProperty) error {
	primary := ""
	for _, a := range d.accounts {
		if a.property == d.propIndex(p.id) {
			primary = a.email
			break
		}
	}
	if _, err := d.svc.Property(d.ctx, d.meta(), p.id, domain.CreateProperty{PropertyID: p.id, Name: p.name, PrimaryContactEmail: primary}); err != nil {
		return d.refused("create property", err)
	}
	d.stats["properties"]++
	return nil
}

func (d *demoRun) propIndex(id string) int {
	for i, p := range d.props {
		if p.id == id {
			return i
		}
	}
	return -1
}

// register creates the account at its property and, unless it stays pending, activates it
// from the e-mailed link within a few hours.
func (d *demoRun) register(a *demoAccount) error {
	reg, err := d.svc.Register(d.ctx, d.meta(), commands.Registration{Email: a.email, Password: a.password, PropertyID: d.props[a.property].id})
	if err != nil {
		return d.refused("register", err)
	}
	a.id, a.lastChange = reg.AccountID, d.now
	d.stats["accounts registered"]++
	if a.secondProp >= 0 {
		if _, err := d.svc.LinkMember(d.ctx, d.meta(), d.props[a.secondProp].id, a.email, domain.Actor{Kind: domain.ActorSupport, Note: "demo: works at two properties"}); err != nil {
			return d.refused("link to a second property", err)
		}
		d.stats["accounts linked to a second property"]++
	}
	if a.neverActive {
		d.stats["accounts left pending activation"]++
		return nil
	}
	d.wait(10*time.Minute, 3*time.Hour)
	if _, err := d.svc.Activate(d.ctx, d.meta(), reg.ActivationToken); err != nil {
		return d.refused("activate", err)
	}
	d.stats["accounts activated"]++
	return nil
}

// billing: at two properties (one when there is only one) two invoices fall overdue a few
// days apart, which disables access (R4.1); both are paid a week later (R4.2).
func (d *demoRun) billing(day int, at func(h, m int) time.Time) []demoAction {
	var acts []demoAction
	for k, p := range d.props[:min(2, len(d.props))] {
		first := d.billingDay + 10*k
		inv1, inv2 := fmt.Sprintf("INV-%s-0042", p.id), fmt.Sprintf("INV-%s-0043", p.id)
		cmd := func(c any, what string) func() error {
			return func() error {
				if _, err := d.svc.Property(d.ctx, d.meta(), p.id, c); err != nil {
					return d.refused(what, err)
				}
				d.stats[what]++
				return nil
			}
		}
		switch day {
		case first:
			acts = append(acts, demoAction{at(6, 0), cmd(domain.MarkInvoiceOverdue{InvoiceID: inv1}, "invoices overdue")})
		case first + 3:
			acts = append(acts, demoAction{at(6, 0), cmd(domain.MarkInvoiceOverdue{InvoiceID: inv2}, "invoices overdue")})
		case first + 10:
			acts = append(acts, demoAction{at(11, 0), cmd(domain.MarkInvoicePaid{InvoiceID: inv1}, "invoices paid")},
				demoAction{at(11, 5), cmd(domain.MarkInvoicePaid{InvoiceID: inv2}, "invoices paid")})
		}
	}
	return acts
}
