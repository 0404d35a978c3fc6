package main

import (
	"fmt"
	"time"

	"accountd/commands"
	"accountd/domain"
)

// finale writes, in the last hours before the demo's end (the real present), the two
// patterns the detectors look for. The demo does not run the detectors: they follow the log
// when the server starts, and they act only on events younger than their act horizon (24
// hours), which is why these come last and close to now.
func (d *demoRun) finale() error {
	if err := d.sharedAccount(); err != nil {
		return err
	}
	return d.credentialStuffing()
}

// sharedAccount: one account signs in from the front desk and, minutes later, from another
// device at another address: two people on one login (R3.2).
func (d *demoRun) sharedAccount() error {
	a := d.firstActive(len(d.accounts) / 3)
	if a == nil {
		return nil
	}
	d.now = d.end.Add(-3 * time.Hour)
	if err := d.signIn(a, domain.Origin{IP: a.ip, UserAgent: "Mozilla/5.0 (demo front desk)", DeviceID: a.device}); err != nil {
		return err
	}
	d.wait(4*time.Minute, 6*time.Minute)
	if err := d.signIn(a, domain.Origin{IP: "192.0.2.77", UserAgent: "Mozilla/5.0 (demo personal phone)", DeviceID: "phone-shared"}); err != nil {
		return err
	}
	d.stats["shared-account scenario (two devices within 10 minutes): "+a.email]++
	return nil
}

// credentialStuffing: one address tries a leaked password against many e-mails, known
// staff and unknown addresses alike, a few seconds apart.
func (d *demoRun) credentialStuffing() error {
	d.now = d.end.Add(-3 * time.Minute) // 30 attempts, 2-5 s apart: done before the end
	const ip = "203.0.113.66"
	o := domain.Origin{IP: ip, UserAgent: "python-requests/2.31"}
	n := 0
	for i := 0; i < 30; i++ {
		email := fmt.Sprintf("former.staff%02d@old-hotel.example", i)
		if i%2 == 0 && i/2 < len(d.accounts) {
			email = d.accounts[(i/2*7)%len(d.accounts)].email
		}
		if _, err := d.svc.Login(d.ctx, d.meta(), commands.LoginAttempt{Email: email, Password: "Summer2024!", Origin: o}); err != nil {
			if err := d.refused("stuffing attempt", err); err != nil {
				return err
			}
		}
		n++
		d.wait(2*time.Second, 5*time.Second)
	}
	d.stats[fmt.Sprintf("credential-stuffing attempts from %s", ip)] += n
	return nil
}

// firstActive is the first activated account from index i on.
func (d *demoRun) firstActive(i int) *demoAccount {
	for k := range d.accounts {
		a := d.accounts[(i+k)%len(d.accounts)]
		if a.id != "" && !a.neverActive {
			return a
		}
	}
	return nil
}
