package scenario

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"accountd/domain"
)

// cursor walks the tokens of an expectation, whose clauses are too free-form for the
// step patterns (lists, optional clauses in any order).
type cursor struct {
	ts []token
	i  int
}

func (c *cursor) done() bool { return c.i >= len(c.ts) }

func (c *cursor) peek() token {
	if c.done() {
		return token{}
	}
	return c.ts[c.i]
}

// accept consumes the words if they come next, all of them.
func (c *cursor) accept(words ...string) bool {
	if c.i+len(words) > len(c.ts) {
		return false
	}
	for k, w := range words {
		if !c.ts[c.i+k].is(w) {
			return false
		}
	}
	c.i += len(words)
	return true
}

func (c *cursor) word(what string) (string, error) {
	t := c.peek()
	if c.done() || t.quoted || strings.ContainsAny(t.text, standalone+":") {
		return "", fmt.Errorf("expected %s%s", what, c.where())
	}
	c.i++
	return strings.ToLower(t.text), nil
}

func (c *cursor) quoted(what string) (string, error) {
	t := c.peek()
	if c.done() || !t.quoted {
		return "", fmt.Errorf("expected %s in quotes%s", what, c.where())
	}
	c.i++
	return t.text, nil
}

func (c *cursor) where() string {
	if c.done() {
		return " at the end of the line"
	}
	return fmt.Sprintf(", found %s", joinTokens(c.ts[c.i:]))
}

func (c *cursor) end() error {
	if !c.done() {
		return fmt.Errorf("unexpected %s", joinTokens(c.ts[c.i:]))
	}
	return nil
}

// sep consumes a list separator: a comma, "and", or both.
func (c *cursor) sep() bool {
	ok := c.accept(",")
	return c.accept("and") || ok
}

// subject reads "for NAME" (a person, or a property when allowed) and the optional colon;
// without "for", the check is about the person the latest step was about.
func (p *parser) checkSubject(c *cursor, propertyOK bool) (string, error) {
	defer c.accept(":")
	if !c.accept("for") && !c.accept("of") {
		if p.current == "" {
			return "", errors.New("say whose: no step has named a person yet (write `for NAME`)")
		}
		return p.current, nil
	}
	name, err := c.word("a name")
	if err != nil {
		return "", err
	}
	if propertyOK && p.props[name] {
		return name, nil
	}
	return p.person(name)
}

func (p *parser) parseExpect(ts []token) (Action, error) {
	c := &cursor{ts: ts}
	var a Action
	var err error
	switch {
	case c.accept("decision"):
		a, err = p.expectDecision(c)
	case c.accept("error"):
		a, err = p.expectError(c)
	case c.accept("policy", "error"):
		a, err = p.expectPolicyError(c)
	case c.accept("status"):
		a, err = p.expectStatus(c)
	case c.accept("events"):
		a, err = p.expectEvents(c)
	case c.accept("no", "events"):
		var who string
		if who, err = p.checkSubject(c, true); err == nil {
			a = ExpectEvents{Stream: who, Events: []EventCount{}}
		}
	case c.accept("access"):
		a, err = p.expectAccess(c)
	case c.accept("session"):
		a, err = p.expectSession(c)
	case c.accept("open", "sessions"):
		a, err = p.expectOpenSessions(c)
	case c.accept("audit"):
		a, err = p.expectAudit(c)
	default:
		return nil, errors.New("an expectation is one of: expect decision, error, policy error, status, events, no events, access, session, open sessions, audit")
	}
	if err != nil {
		return nil, err
	}
	return a, c.end()
}

func (p *parser) expectDecision(c *cursor) (Action, error) {
	d, err := c.word("a decision")
	if err != nil {
		return nil, err
	}
	if !slices.Contains(decisions, d) {
		return nil, fmt.Errorf("decision %q is not one of %s", d, strings.Join(decisions, ", "))
	}
	e := ExpectDecision{Decision: d}
	for c.sep() {
		switch {
		case c.accept("reason"):
			r, err := c.word("a reason")
			if err != nil {
				return nil, err
			}
			if !isReason(r) {
				return nil, fmt.Errorf("%q is not a reason code", r)
			}
			e.Reason = &r
		case c.accept("attempts", "remaining"):
			n, err := c.number()
			if err != nil {
				return nil, err
			}
			e.AttemptsRemaining = &n
		case c.accept("retry", "after"):
			d, err := c.duration()
			if err != nil {
				return nil, err
			}
			e.RetryAfter = &d
		case c.accept("last", "attempt", "warning"):
			w := true
			e.Warning = &w
		case c.accept("no", "last", "attempt", "warning"):
			w := false
			e.Warning = &w
		default:
			return nil, fmt.Errorf("a decision clause is reason R, attempts remaining N, retry after D, last attempt warning or no last attempt warning%s", c.where())
		}
	}
	return e, nil
}

func (c *cursor) number() (int, error) {
	w, err := c.word("a number")
	if err != nil {
		return 0, err
	}
	if n, ok := numberWords[w]; ok {
		return n, nil
	}
	n, err := strconv.Atoi(w)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a number", w)
	}
	return n, nil
}

func (c *cursor) duration() (time.Duration, error) {
	w, err := c.word("a duration such as 60s, 30m, 24h or 90d")
	if err != nil {
		return 0, err
	}
	d, err := domain.ParseDuration(w)
	return d.Std(), err
}

func (p *parser) expectError(c *cursor) (Action, error) {
	code, err := c.word("an error code")
	if err != nil {
		return nil, err
	}
	if !isErrorCode(code) {
		return nil, fmt.Errorf("%q is not an error code of the engine", code)
	}
	e := ExpectError{Code: code}
	if c.accept("because") {
		e.Because = []string{}
		for {
			r, err := c.word("a password rule")
			if err != nil {
				return nil, err
			}
			if !slices.Contains(passwordRules, r) {
				return nil, fmt.Errorf("%q is not a password rule (%s)", r, strings.Join(passwordRules, ", "))
			}
			e.Because = append(e.Because, r)
			if !c.sep() {
				break
			}
		}
	}
	return e, nil
}

func (p *parser) expectPolicyError(c *cursor) (Action, error) {
	var e ExpectPolicyError
	for {
		f, err := c.word("a setting name")
		if err != nil {
			return nil, err
		}
		if _, ok := policyKinds[f]; !ok {
			return nil, fmt.Errorf("%q is not a policy setting (%s)", f, strings.Join(policyNames(), ", "))
		}
		e.Fields = append(e.Fields, f)
		if !c.sep() {
			return e, nil
		}
	}
}

func (p *parser) expectStatus(c *cursor) (Action, error) {
	who, err := p.checkSubject(c, false)
	if err != nil {
		return nil, err
	}
	s, err := c.word("a status")
	if err != nil {
		return nil, err
	}
	if !slices.Contains(statuses, s) {
		return nil, fmt.Errorf("status %q is not one of %s", s, strings.Join(statuses, ", "))
	}
	e := ExpectStatus{Person: who, Status: s, Reasons: []string{}}
	switch {
	case c.accept("with", "no", "reasons"):
	case c.accept("with", "reasons") || c.accept("with", "reason"):
		for {
			r, err := c.word("a reason")
			if err != nil {
				return nil, err
			}
			if !isReason(r) {
				return nil, fmt.Errorf("%q is not a reason code", r)
			}
			e.Reasons = append(e.Reasons, r)
			if !c.sep() {
				break
			}
		}
	}
	return e, nil
}

func (p *parser) expectEvents(c *cursor) (Action, error) {
	who, err := p.checkSubject(c, true)
	if err != nil {
		return nil, err
	}
	e := ExpectEvents{Stream: who, Events: []EventCount{}}
	if c.accept("none") {
		return e, nil
	}
	for {
		name, err := c.word("an event name")
		if err != nil {
			return nil, err
		}
		if !isEventName(name) {
			return nil, fmt.Errorf("%q is not an event type (write it without its version, e.g. login_failed)", name)
		}
		ec := EventCount{Type: name, Times: 1}
		if t := c.peek(); !c.done() && !t.quoted && len(t.text) > 1 && (t.text[0] == 'x' || t.text[0] == 'X') {
			n, err := strconv.Atoi(t.text[1:])
			if err != nil || n < 1 {
				return nil, fmt.Errorf("repetition %q is not x followed by a count, e.g. x6", t.text)
			}
			ec.Times = n
			c.i++
		}
		e.Events = append(e.Events, ec)
		if !c.sep() {
			return e, nil
		}
	}
}

func (p *parser) expectAccess(c *cursor) (Action, error) {
	who, err := p.checkSubject(c, false)
	if err != nil {
		return nil, err
	}
	e := ExpectAccess{Person: who}
	for {
		name, err := c.word("a property")
		if err != nil {
			return nil, err
		}
		prop, err := p.property(name)
		if err != nil {
			return nil, err
		}
		pa := PropertyAccess{Property: prop}
		switch {
		case c.accept("allowed"):
			pa.Allowed = true
		case c.accept("denied"):
		default:
			return nil, fmt.Errorf("say whether access to %s is allowed or denied%s", prop, c.where())
		}
		if c.accept("(") {
			pa.Reasons = []string{}
			for !c.accept(")") {
				r, err := c.word("a reason or )")
				if err != nil {
					return nil, err
				}
				if !isReason(r) {
					return nil, fmt.Errorf("%q is not a reason code", r)
				}
				pa.Reasons = append(pa.Reasons, r)
				c.sep()
			}
		}
		e.Properties = append(e.Properties, pa)
		if !c.sep() {
			return e, nil
		}
	}
}

func (p *parser) expectSession(c *cursor) (Action, error) {
	who, err := p.checkSubject(c, false)
	if err != nil {
		return nil, err
	}
	e := ExpectSession{Person: who}
	for {
		switch {
		case c.accept("closes", "after"):
			d, err := c.duration()
			if err != nil {
				return nil, err
			}
			e.ClosesAfter = &d
		case c.accept("closes", "at"):
			w := c.peek()
			t, err := time.Parse(time.RFC3339, w.text)
			if err != nil || w.quoted {
				return nil, fmt.Errorf("expected an instant such as 2026-03-03T00:00:00Z%s", c.where())
			}
			c.i++
			t = t.UTC()
			e.ClosesAt = &t
		case c.accept("idle", "after"):
			d, err := c.duration()
			if err != nil {
				return nil, err
			}
			e.IdleAfter = &d
		case c.accept("valid"):
			v := true
			e.Valid = &v
		case c.accept("closed", "because"):
			why, err := c.word("why the session closed")
			if err != nil {
				return nil, err
			}
			if !slices.Contains(sessionEnds, why) {
				return nil, fmt.Errorf("a session closes because of one of %s, not %q", strings.Join(sessionEnds, ", "), why)
			}
			e.ClosedBecause = why
		default:
			return nil, fmt.Errorf("a session clause is closes after D, closes at INSTANT, idle after D, valid, or closed because WHY%s", c.where())
		}
		if !c.sep() {
			return e, nil
		}
	}
}

func (p *parser) expectOpenSessions(c *cursor) (Action, error) {
	who, err := p.checkSubject(c, false)
	if err != nil {
		return nil, err
	}
	n, err := c.number()
	return ExpectOpenSessions{Person: who, Count: n}, err
}

func (p *parser) expectAudit(c *cursor) (Action, error) {
	who, err := p.checkSubject(c, false)
	if err != nil {
		return nil, err
	}
	if !c.accept("rule") {
		return nil, fmt.Errorf("an audit check starts with rule \"...\"%s", c.where())
	}
	rule, err := c.quoted("the rule")
	if err != nil {
		return nil, err
	}
	e := ExpectAudit{Person: who, Rule: rule}
	list := func() ([]string, error) {
		out := []string{}
		for {
			s, err := c.quoted("an address or device")
			if err != nil {
				return nil, err
			}
			out = append(out, s)
			if !c.peekQuotedAfterAnd() {
				return out, nil
			}
			c.accept("and")
		}
	}
	for c.sep() {
		switch {
		case c.accept("from"):
			if e.Addresses, err = list(); err != nil {
				return nil, err
			}
		case c.accept("devices"):
			if e.Devices, err = list(); err != nil {
				return nil, err
			}
		case c.accept("action"):
			if e.Action, err = c.word("an action"); err != nil {
				return nil, err
			}
			if !slices.Contains(detectionActions, e.Action) {
				return nil, fmt.Errorf("action %q is not one of %s", e.Action, strings.Join(detectionActions, ", "))
			}
		case c.accept("notified"):
			t := c.peek()
			if c.done() || !strings.Contains(t.text, "@") {
				return nil, fmt.Errorf("expected the e-mail address that was notified%s", c.where())
			}
			e.Notified = t.text
			c.i++
		default:
			return nil, fmt.Errorf("an audit clause is from \"A\" and \"B\", devices \"D\", action A or notified EMAIL%s", c.where())
		}
	}
	return e, nil
}

// peekQuotedAfterAnd tells a list going on ("A" and "B") from the next clause.
func (c *cursor) peekQuotedAfterAnd() bool {
	return c.i+1 < len(c.ts) && c.ts[c.i].is("and") && c.ts[c.i+1].quoted
}

// parsePolicy reads name=value settings. Values are checked against the setting's type now;
// whether the policy as a whole is acceptable is the engine's call (Policy.Validate) at run time.
func (p *parser) parsePolicy(ts []token) (Action, error) {
	if len(ts) == 0 {
		return nil, errors.New("a policy line sets at least one name=value")
	}
	var sp SetPolicy
	seen := map[string]bool{}
	for _, t := range ts {
		name, value, ok := strings.Cut(t.text, "=")
		if !ok || t.quoted || name == "" || value == "" {
			return nil, fmt.Errorf("%s is not name=value", t)
		}
		kind, known := policyKinds[name]
		if !known {
			return nil, fmt.Errorf("%q is not a policy setting (%s)", name, strings.Join(policyNames(), ", "))
		}
		if seen[name] {
			return nil, fmt.Errorf("%s is set twice", name)
		}
		seen[name] = true
		var js string
		switch kind {
		case '"':
			js = strconv.Quote(value)
		case 't', 'f':
			if value != "true" && value != "false" {
				return nil, fmt.Errorf("%s is true or false, not %q", name, value)
			}
			js = value
		default:
			if _, err := strconv.Atoi(value); err != nil {
				return nil, fmt.Errorf("%s is a whole number, not %q", name, value)
			}
			js = value
		}
		pol := domain.DefaultPolicy()
		if err := json.Unmarshal([]byte(`{"`+name+`":`+js+`}`), &pol); err != nil {
			return nil, fmt.Errorf("%s=%s: %v", name, value, err)
		}
		sp.Settings = append(sp.Settings, Setting{Name: name, Value: value, JSON: js})
	}
	return sp, nil
}
