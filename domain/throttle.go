package domain

import (
	"net/netip"
	"strings"
	"time"
)

// An address throttle is an aggregate of its own, one stream per client address, so that
// two detector instances (or a detector and its replay) deciding on one address are
// serialised by optimistic concurrency instead of both writing.

// AddressThrottled refuses sign-ins from one address until Until. Release is time-based:
// no event is needed to end it, the login path compares Until with its clock.
type AddressThrottled struct {
	IP       string    `json:"ip"`
	Until    time.Time `json:"until"`
	Rule     string    `json:"rule"`
	Evidence Evidence  `json:"evidence"`
}

func (AddressThrottled) EventType() string { return "address_throttled.v1" }

// AddressStream names the throttle stream of an address by the address's keyed pseudonym
// (of its canonical form, so "::ffff:192.0.2.1" and "192.0.2.1" share one stream): a
// stream name is in logs and metrics, and an IP address is personal data.
func AddressStream(pseudonym string) string { return "address-" + pseudonym }

// LegacyAddressStream is the name throttle streams had before they were named by
// pseudonym: the canonical address in clear. Nothing reads it any more (see
// commands.Throttles); it names the old streams for tools that look at an old log.
func LegacyAddressStream(ip string) string { return "address-" + CanonicalIP(ip) }

// CanonicalIP returns the address in its canonical text form (the input, trimmed, when it
// does not parse).
func CanonicalIP(ip string) string {
	ip = strings.TrimSpace(ip)
	if a, err := netip.ParseAddr(ip); err == nil {
		return a.Unmap().String()
	}
	return ip
}

// AddressThrottle is the folded state of an address's stream.
type AddressThrottle struct {
	IP    string
	Until time.Time
	Rule  string
	Since time.Time
}

// EvolveAddressThrottle applies a throttle event.
func EvolveAddressThrottle(s AddressThrottle, e Event) AddressThrottle {
	if d, ok := e.Data.(AddressThrottled); ok {
		s.IP, s.Until, s.Rule, s.Since = d.IP, d.Until, d.Rule, e.At
	}
	return s
}

// ThrottledAt reports whether the address is refused at now and for how long still.
func (s AddressThrottle) ThrottledAt(now time.Time) (time.Duration, bool) {
	if now.Before(s.Until) {
		return s.Until.Sub(now), true
	}
	return 0, false
}

// ThrottleAddress is the detector's command: refuse the address until Until.
type ThrottleAddress struct {
	IP       string
	Until    time.Time
	Rule     string
	Evidence Evidence
}

// DecideThrottle throttles an address unless a throttle at least as long is already in
// force, so a replayed or concurrent detection never extends or repeats one.
func DecideThrottle(s AddressThrottle, c ThrottleAddress, now time.Time) ([]Event, error) {
	if strings.TrimSpace(c.IP) == "" || strings.TrimSpace(c.Rule) == "" {
		return nil, refuse(CodeInvalidCommand, "a throttle names its address and rule")
	}
	if !c.Until.After(now) {
		return nil, refuse(CodeInvalidCommand, "a throttle must end in the future")
	}
	if !s.Until.Before(c.Until) {
		return nil, nil
	}
	return []Event{{At: now, Data: AddressThrottled{IP: CanonicalIP(c.IP), Until: c.Until.UTC(), Rule: c.Rule, Evidence: c.Evidence}}}, nil
}
