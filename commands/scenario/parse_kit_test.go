package scenario

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"accountd/domain"
)

// ParseFile reads and parses one story file; messages name the path as given.
func ParseFile(path string) (*Story, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, src)
}

// Parse reads a story. It reports every malformed line, each as file:line, so a writer
// fixes a story in one pass.
func Parse(file string, src []byte) (*Story, error) {
	p := &parser{file: file, people: map[string]string{}, emails: map[string]string{}, props: map[string]bool{}}
	st := &Story{File: file}
	for i, raw := range strings.Split(string(src), "\n") {
		line := i + 1
		text := strings.TrimSpace(strings.TrimSuffix(raw, "\r"))
		if text == "" {
			continue
		}
		if strings.HasPrefix(text, "#") {
			if st.Title == "" && len(st.Steps) == 0 {
				st.Title = strings.TrimSpace(strings.TrimLeft(text, "#"))
			}
			continue
		}
		if rest, ok := cutPrefixFold(text, "skip:"); ok {
			switch {
			case strings.TrimSpace(rest) == "":
				p.fail(line, text, "a skip line says why the story is skipped: skip: <why>")
			case st.Skip != "":
				p.fail(line, text, "the story is already marked skip at line %d", st.SkipLine)
			default:
				st.Skip, st.SkipLine = strings.TrimSpace(rest), line
			}
			continue
		}
		toks, err := lex(text)
		if err != nil {
			p.fail(line, text, "%v", err)
			continue
		}
		if len(toks) == 0 {
			continue
		}
		act, err := p.parseLine(toks)
		if err != nil {
			p.fail(line, text, "%v", err)
			continue
		}
		st.Steps = append(st.Steps, Step{Line: line, Text: text, Do: act})
	}
	if len(p.errs) == 0 && len(st.Steps) == 0 {
		p.errs = append(p.errs, fmt.Errorf("%s:1: the story has no steps", file))
	}
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return st, nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return "", false
}

type parser struct {
	file    string
	people  map[string]string // name -> e-mail
	emails  map[string]string // normalised e-mail -> name
	props   map[string]bool
	current string    // the person the latest step was about: the default subject of checks
	now     time.Time // the story's clock, known at parse time since every step is deterministic
	errs    []error
}

// fail records a parse error: the message's first line, the story line quoted, then any hints.
func (p *parser) fail(line int, text, format string, args ...any) {
	msg, more, _ := strings.Cut(fmt.Sprintf(format, args...), "\n")
	if more != "" {
		more = "\n" + more
	}
	p.errs = append(p.errs, fmt.Errorf("%s:%d: %s\n    | %s%s", p.file, line, msg, text, more))
}

func (p *parser) parseLine(toks []token) (Action, error) {
	switch {
	case toks[0].is("expect"):
		return p.parseExpect(toks[1:])
	case toks[0].is("policy"):
		return p.parsePolicy(toks[1:])
	}
	for _, pat := range patterns {
		caps, ok := p.match(pat.elems, toks, nil)
		if !ok {
			continue
		}
		// Every command happens at some time; only the clock and the common list come before one.
		if p.now.IsZero() && pat.key != "at" && pat.key != "common" {
			return nil, errors.New("the story's clock is not set yet: start with a line such as `at 2026-03-02T09:00:00Z`")
		}
		return pat.build(p, captures(caps))
	}
	return nil, errors.New(unknownLine(toks))
}

// unknownLine explains a line no step form matches, pointing at the forms that share a word
// with it: the usual mistake is a small variation of a right line.
func unknownLine(toks []token) string {
	var hints []string
	for _, pat := range patterns {
		for _, t := range toks {
			if !t.quoted && pat.key != "" && similar(strings.ToLower(t.text), pat.key) {
				hints = append(hints, "      "+pat.human)
				break
			}
		}
	}
	msg := "this line is not a step this runner knows (see testdata/scenarios/README.md)"
	if len(hints) > 0 {
		msg += "\n    steps with a similar word:\n" + strings.Join(hints, "\n")
	}
	return msg
}

// similar matches a word with a step's verb, forgiving a missing or extra ending
// ("activate" for "activates").
func similar(word, key string) bool {
	if word == key {
		return true
	}
	short, long := word, key
	if len(short) > len(long) {
		short, long = long, short
	}
	return len(short) >= 4 && strings.HasPrefix(long, short) && len(long)-len(short) <= 2
}

// --- step patterns ------------------------------------------------------------------------

// A pattern is a line shape: literal words (a|b for alternatives), slots {name:type}, and
// optional groups [...]. Patterns are tried in order; the first whole-line match wins.
type pattern struct {
	text  string
	elems []elem
	key   string // the first literal word, for hints
	human string
	build func(p *parser, c captures) (Action, error)
}

type elem struct {
	words []string
	slot  string
	typ   string
	opt   []elem
}

type capture struct {
	name string
	v    any
}

type captures []capture

func (c captures) has(name string) bool {
	for _, x := range c {
		if x.name == name {
			return true
		}
	}
	return false
}

// said is the capture name of a literal word.
const said = "="

// said reports whether the line contains the literal word w of its pattern.
func (c captures) said(w string) bool {
	for _, x := range c {
		if x.name == said && x.v == w {
			return true
		}
	}
	return false
}

func (c captures) get(name string) any {
	for _, x := range c {
		if x.name == name {
			return x.v
		}
	}
	return nil
}

func (c captures) str(name string) string {
	s, _ := c.get(name).(string)
	return s
}

func (c captures) strs(name string) []string {
	s, _ := c.get(name).([]string)
	return s
}

func (p *parser) match(els []elem, toks []token, caps []capture) ([]capture, bool) {
	if len(els) == 0 {
		return caps, len(toks) == 0
	}
	e := els[0]
	switch {
	case e.opt != nil:
		with := append(slices.Clone(e.opt), els[1:]...)
		if c, ok := p.match(with, toks, caps); ok {
			return c, true
		}
		return p.match(els[1:], toks, caps)
	case e.words != nil:
		if len(toks) == 0 || toks[0].quoted || !slices.Contains(e.words, strings.ToLower(toks[0].text)) {
			return nil, false
		}
		w := strings.ToLower(toks[0].text)
		// Literal words are captured too, so a builder can tell "is paid" from "is overdue".
		return p.match(els[1:], toks[1:], append(slices.Clip(caps), capture{said, w}))
	}
	for _, o := range slotTypes[e.typ](toks) {
		if c, ok := p.match(els[1:], toks[o.n:], append(slices.Clip(caps), capture{e.slot, o.v})); ok {
			return c, true
		}
	}
	return nil, false
}

func compile(text string) []elem {
	text = strings.NewReplacer("[", " [ ", "]", " ] ").Replace(text)
	words := strings.Fields(text)
	els, rest := compileSeq(words)
	if len(rest) > 0 {
		panic("scenario: unbalanced ] in pattern " + text)
	}
	return els
}

func compileSeq(words []string) ([]elem, []string) {
	var out []elem
	for len(words) > 0 {
		w := words[0]
		words = words[1:]
		switch {
		case w == "[":
			var inner []elem
			inner, words = compileSeq(words)
			if len(words) == 0 || words[0] != "]" {
				panic("scenario: unbalanced [ in pattern")
			}
			words = words[1:]
			out = append(out, elem{opt: inner})
		case w == "]":
			return out, append([]string{"]"}, words...)
		case strings.HasPrefix(w, "{"):
			name, typ, _ := strings.Cut(strings.Trim(w, "{}"), ":")
			if _, ok := slotTypes[typ]; !ok {
				panic("scenario: unknown slot type " + typ)
			}
			out = append(out, elem{slot: name, typ: typ})
		default:
			out = append(out, elem{words: strings.Split(w, "|")})
		}
	}
	return out, nil
}

func humanPattern(text string) string {
	var b strings.Builder
	for i, w := range strings.Fields(text) {
		if i > 0 {
			b.WriteByte(' ')
		}
		pre, rest, _ := strings.Cut(w, "{")
		if rest == "" {
			b.WriteString(w)
			continue
		}
		slot, post, _ := strings.Cut(rest, "}")
		name, typ, _ := strings.Cut(slot, ":")
		b.WriteString(pre)
		switch typ {
		case "string":
			b.WriteString(`"<` + name + `>"`)
		case "poss":
			b.WriteString("her|his|their")
		default:
			b.WriteString("<" + name + ">")
		}
		b.WriteString(post)
	}
	return b.String()
}

// firstWord is a pattern's first literal word outside optional groups: usually its verb.
func firstWord(els []elem) string {
	for _, e := range els {
		if e.words != nil {
			return e.words[0]
		}
	}
	return ""
}

var patterns []pattern

func def(text string, build func(p *parser, c captures) (Action, error)) {
	els := compile(text)
	patterns = append(patterns, pattern{text: text, elems: els, key: firstWord(els), human: humanPattern(text), build: build})
}

func init() {
	def("at {when:when}", func(p *parser, c captures) (Action, error) {
		t, err := p.resolveTime(c.str("when"))
		if err != nil {
			return nil, err
		}
		p.now = t
		return At{Time: t}, nil
	})
	def("common password {password:string}", func(p *parser, c captures) (Action, error) {
		return CommonPassword{Password: c.str("password")}, nil
	})
	def("property {name:string} as {alias:name} [with primary contact {contact:email}]", func(p *parser, c captures) (Action, error) {
		alias := c.str("alias")
		if p.props[alias] || p.people[alias] != "" {
			return nil, fmt.Errorf("%q already names someone or something in this story", alias)
		}
		contact := c.str("contact")
		if contact == "" {
			contact = "reception@" + alias + ".example"
		}
		p.props[alias] = true
		return CreateProperty{Name: c.str("name"), Alias: alias, Contact: contact}, nil
	})
	def("add {person:name} to {property:name}", func(p *parser, c captures) (Action, error) {
		person, prop, err := p.personAt(c)
		return AddMember{Person: person, Property: prop}, err
	})
	def("grant user management to {person:name} at {property:name}", func(p *parser, c captures) (Action, error) {
		person, prop, err := p.personAt(c)
		return UserManagement{Person: person, Property: prop}, err
	})
	def("revoke user management from {person:name} at {property:name}", func(p *parser, c captures) (Action, error) {
		person, prop, err := p.personAt(c)
		return UserManagement{Person: person, Property: prop, Revoke: true}, err
	})
	def("register {email:email} [as {person:name}] with password {password:string} [at {property:name}] [by {by:actor}]", func(p *parser, c captures) (Action, error) {
		r := Register{Email: c.str("email"), Password: c.str("password")}
		name, err := p.declarePerson(r.Email, c.str("person"))
		if err != nil {
			return nil, err
		}
		r.Person = name
		if c.has("property") {
			if r.Property, err = p.property(c.str("property")); err != nil {
				return nil, err
			}
		}
		if c.has("by") {
			a, err := p.actor(c)
			if err != nil {
				return nil, err
			}
			r.By = &a
		}
		p.current = name
		return r, nil
	})
	def("{person:name} activates [{_:poss} account] with {link:link}", func(p *parser, c captures) (Action, error) {
		person, link, err := p.personLink(c, domain.LinkActivation)
		return Activate{Person: person, Link: link}, err
	})
	def("{person:name} asks for a new activation link", func(p *parser, c captures) (Action, error) {
		person, err := p.subject(c)
		return ResendActivation{Person: person}, err
	})
	def("someone logs in as {email:email} with {password:string} [{times:times}]", func(p *parser, c captures) (Action, error) {
		l := Login{Email: c.str("email"), Password: c.str("password"), Times: 1}
		if name, known := p.emails[domain.NormaliseEmail(l.Email)]; known {
			return nil, fmt.Errorf("%s is %s's address: write `%s logs in with ...`", l.Email, name, name)
		}
		setTimes(&l, c)
		return l, nil
	})
	def("{person:name} logs in with {password:string} [and {code:code}] [{times:times}]", func(p *parser, c captures) (Action, error) {
		person, err := p.subject(c)
		l := Login{Person: person, Email: p.people[person], Password: c.str("password"), Times: 1}
		if code, ok := c.get("code").(CodeRef); ok {
			l.Code = &code
		}
		setTimes(&l, c)
		return l, err
	})
	def("{person:name} asks for a password reset", func(p *parser, c captures) (Action, error) {
		person, err := p.subject(c)
		return RequestReset{Person: person}, err
	})
	def("{person:name} resets {_:poss} password to {new:string} with {link:link}", func(p *parser, c captures) (Action, error) {
		person, link, err := p.personLink(c, domain.LinkReset)
		return ResetPassword{Person: person, NewPassword: c.str("new"), Link: link}, err
	})
	def("{person:name} asks for a new unlock link", func(p *parser, c captures) (Action, error) {
		person, err := p.subject(c)
		return RequestUnlock{Person: person}, err
	})
	def("{person:name} unlocks [{_:poss} account] with {link:link}", func(p *parser, c captures) (Action, error) {
		person, link, err := p.personLink(c, domain.LinkUnlock)
		return UnlockWithLink{Person: person, Link: link}, err
	})
	def("{person:name} changes {_:poss} password from {current:string} to {new:string}", func(p *parser, c captures) (Action, error) {
		person, err := p.subject(c)
		return ChangePassword{Person: person, Current: c.str("current"), New: c.str("new")}, err
	})
	def("{person:name} starts mfa enrolment|enrollment", func(p *parser, c captures) (Action, error) {
		person, err := p.subject(c)
		return StartMFA{Person: person}, err
	})
	def("{person:name} confirms mfa [enrolment|enrollment] with {code:code}", func(p *parser, c captures) (Action, error) {
		person, err := p.subject(c)
		return ConfirmMFA{Person: person, Code: c.get("code").(CodeRef)}, err
	})
	def("{person:name} defers mfa [enrolment|enrollment]", func(p *parser, c captures) (Action, error) {
		person, err := p.subject(c)
		return DeferMFA{Person: person}, err
	})
	def("{person:name} resets {_:poss} mfa with {code:code}", func(p *parser, c captures) (Action, error) {
		person, err := p.subject(c)
		code := c.get("code").(CodeRef)
		return ResetMFA{By: Actor{Person: person}, Person: person, Code: &code}, err
	})
	def("{by:actor} resets mfa for {person:name}", func(p *parser, c captures) (Action, error) {
		by, person, err := p.actorOn(c)
		return ResetMFA{By: by, Person: person}, err
	})
	def("{by:actor} unlocks {person:name}", func(p *parser, c captures) (Action, error) {
		by, person, err := p.actorOn(c)
		return AdminUnlock{By: by, Person: person}, err
	})
	def("{by:actor} disables {person:name} [at {property:name}] [for suspicious activity]", func(p *parser, c captures) (Action, error) {
		by, person, err := p.actorOn(c)
		d := Disable{By: by, Person: person, Suspicious: c.said("suspicious")}
		if err == nil && c.has("property") {
			d.Property, err = p.property(c.str("property"))
		}
		return d, err
	})
	def("{by:actor} enables {person:name} [at {property:name}]", func(p *parser, c captures) (Action, error) {
		by, person, err := p.actorOn(c)
		e := Enable{By: by, Person: person}
		if err == nil && c.has("property") {
			e.Property, err = p.property(c.str("property"))
		}
		return e, err
	})
	def("{by:actor} deletes {person:name}", func(p *parser, c captures) (Action, error) {
		by, person, err := p.actorOn(c)
		return Delete{By: by, Person: person}, err
	})
	def("invoice {invoice:word} of {property:name} is overdue|paid", func(p *parser, c captures) (Action, error) {
		prop, err := p.property(c.str("property"))
		return Invoice{Property: prop, Invoice: c.str("invoice"), Paid: c.said("paid")}, err
	})
	def("subscription of {property:name} becomes {to:word} [by {by:actor}]", func(p *parser, c captures) (Action, error) {
		prop, err := p.property(c.str("property"))
		if err != nil {
			return nil, err
		}
		to := strings.ToLower(c.str("to"))
		if !slices.Contains(subscriptions, to) {
			return nil, fmt.Errorf("subscription state %q is not one of %s", to, strings.Join(subscriptions, ", "))
		}
		ch := ChangeSubscription{Property: prop, To: to}
		if c.has("by") {
			a, err := p.actor(c)
			if err != nil {
				return nil, err
			}
			ch.By = &a
		}
		return ch, nil
	})
	def("detect {rule:string} on {person:name} [from {addresses:strings}] [on devices {devices:strings}] [for review]", func(p *parser, c captures) (Action, error) {
		person, err := p.subject(c)
		return Detect{Person: person, Rule: c.str("rule"), Addresses: c.strs("addresses"), Devices: c.strs("devices"), ForReview: c.said("review")}, err
	})
	def("{person:name} uses [{_:poss}] session", func(p *parser, c captures) (Action, error) {
		person, err := p.subject(c)
		return UseSession{Person: person}, err
	})
	def("run the inactivity sweep", func(p *parser, c captures) (Action, error) {
		return InactivitySweep{}, nil
	})
}

func setTimes(l *Login, c captures) {
	if t, ok := c.get("times").(times); ok {
		l.Times, l.AtOnce = t.n, t.atOnce
	}
}

func (p *parser) resolveTime(s string) (time.Time, error) {
	switch {
	case strings.HasPrefix(s, "+"):
		if p.now.IsZero() {
			return time.Time{}, errors.New("a relative time needs an absolute one before it, such as `at 2026-03-02T09:00:00Z`")
		}
		d, err := domain.ParseDuration(s[1:])
		if err != nil {
			return time.Time{}, err
		}
		return p.now.Add(d.Std()), nil
	case strings.Contains(s, "T"):
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q is not an instant such as 2026-03-02T09:00:00Z", s)
		}
		t = t.UTC()
		if !p.now.IsZero() && t.Before(p.now) {
			return time.Time{}, fmt.Errorf("time goes backwards: %s is before %s", t.Format(time.RFC3339), p.now.Format(time.RFC3339))
		}
		return t, nil
	}
	var h, m, sec int
	var err error
	if strings.Count(s, ":") == 2 {
		_, err = fmt.Sscanf(s, "%d:%d:%d", &h, &m, &sec)
	} else {
		_, err = fmt.Sscanf(s, "%d:%d", &h, &m)
	}
	if err != nil || h > 23 || m > 59 || sec > 59 || !strings.Contains(s, ":") {
		return time.Time{}, fmt.Errorf("%q is not a time: use 2026-03-02T09:00:00Z, 09:05 (same day) or +10m / +91d", s)
	}
	if p.now.IsZero() {
		return time.Time{}, errors.New("a time of day needs a full date before it, such as `at 2026-03-02T09:00:00Z`")
	}
	y, mo, d := p.now.Date()
	t := time.Date(y, mo, d, h, m, sec, 0, time.UTC)
	if t.Before(p.now) {
		return time.Time{}, fmt.Errorf("time goes backwards: %s is before %s (write the full date for another day)", t.Format(time.RFC3339), p.now.Format(time.RFC3339))
	}
	return t, nil
}

func (p *parser) declarePerson(email, name string) (string, error) {
	if !domain.ValidEmail(email) {
		// Still a person of the story: a refused registration is a legitimate step.
		if name == "" {
			return "", fmt.Errorf("%q is not an e-mail address the story can name a person after: add `as NAME`", email)
		}
	}
	norm := domain.NormaliseEmail(email)
	if name == "" {
		local, _, _ := strings.Cut(norm, "@")
		name = local
		if !validName(name) {
			return "", fmt.Errorf("cannot name a person after %q: add `as NAME`", email)
		}
	}
	if known, ok := p.emails[norm]; ok && known != name {
		return "", fmt.Errorf("%s is already %s in this story", email, known)
	}
	if addr, ok := p.people[name]; ok && domain.NormaliseEmail(addr) != norm {
		return "", fmt.Errorf("%q already stands for %s: add `as NAME` to name this person differently", name, addr)
	}
	if p.props[name] {
		return "", fmt.Errorf("%q already names a property", name)
	}
	p.people[name] = email
	p.emails[norm] = name
	return name, nil
}

func (p *parser) person(name string) (string, error) {
	if _, ok := p.people[name]; !ok {
		return "", fmt.Errorf("nobody called %q is in the story yet (%s)", name, known(p.people))
	}
	return name, nil
}

func (p *parser) property(name string) (string, error) {
	if !p.props[name] {
		return "", fmt.Errorf("no property called %q is in the story yet (%s)", name, known(p.props))
	}
	return name, nil
}

func known[V any](m map[string]V) string {
	if len(m) == 0 {
		return "none so far"
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	return "known: " + strings.Join(names, ", ")
}

// subject resolves the person a step is about and makes them the default of later checks.
func (p *parser) subject(c captures) (string, error) {
	name, err := p.person(c.str("person"))
	if err == nil {
		p.current = name
	}
	return name, err
}

func (p *parser) personAt(c captures) (string, string, error) {
	person, err := p.subject(c)
	if err != nil {
		return "", "", err
	}
	prop, err := p.property(c.str("property"))
	return person, prop, err
}

func (p *parser) personLink(c captures, kind string) (string, LinkRef, error) {
	person, err := p.subject(c)
	link := c.get("link").(LinkRef)
	if err == nil && link.Kind != kind {
		err = fmt.Errorf("this step needs %s link, not %s", article(kind), link)
	}
	return person, link, err
}

func article(kind string) string {
	if strings.ContainsAny(kind[:1], "aeiou") {
		return "an " + kind
	}
	return "a " + kind
}

func (p *parser) actor(c captures) (Actor, error) {
	a := c.get("by").(Actor)
	if a.Person != "" {
		if _, err := p.person(a.Person); err != nil {
			return Actor{}, err
		}
	}
	return a, nil
}

func (p *parser) actorOn(c captures) (Actor, string, error) {
	a, err := p.actor(c)
	if err != nil {
		return Actor{}, "", err
	}
	person, err := p.subject(c)
	return a, person, err
}

// --- slot types -----------------------------------------------------------------------------

type option struct {
	n int
	v any
}

type times struct {
	n      int
	atOnce bool
}

var slotTypes = makeSlotTypes()

func makeSlotTypes() map[string]func([]token) []option {
	slotTypes := map[string]func([]token) []option{}
	one := func(ok func(token) (any, bool)) func([]token) []option {
		return func(ts []token) []option {
			if len(ts) == 0 {
				return nil
			}
			if v, good := ok(ts[0]); good {
				return []option{{1, v}}
			}
			return nil
		}
	}
	bare := func(t token) bool { return !t.quoted && !strings.ContainsAny(t.text, standalone+":") }
	slotTypes["name"] = one(func(t token) (any, bool) {
		n := strings.ToLower(t.text)
		return n, !t.quoted && validName(n)
	})
	slotTypes["string"] = one(func(t token) (any, bool) { return t.text, t.quoted })
	slotTypes["word"] = one(func(t token) (any, bool) { return t.text, bare(t) })
	slotTypes["when"] = one(func(t token) (any, bool) { return t.text, !t.quoted })
	slotTypes["email"] = one(func(t token) (any, bool) { return t.text, strings.Contains(t.text, "@") })
	slotTypes["poss"] = one(func(t token) (any, bool) { return nil, t.is("her") || t.is("his") || t.is("their") })
	slotTypes["actor"] = func(ts []token) []option {
		if len(ts) >= 2 && ts[0].is("support") && ts[1].quoted {
			return []option{{2, Actor{SupportRef: ts[1].text}}}
		}
		if len(ts) >= 1 && !ts[0].quoted && validName(strings.ToLower(ts[0].text)) {
			return []option{{1, Actor{Person: strings.ToLower(ts[0].text)}}}
		}
		return nil
	}
	slotTypes["strings"] = func(ts []token) []option {
		var list []string
		var out []option
		for i := 0; i < len(ts) && ts[i].quoted; i++ {
			list = append(list, ts[i].text)
			out = append(out, option{i + 1, slices.Clone(list)})
			if i+1 < len(ts) && (ts[i+1].is("and") || ts[i+1].is(",")) {
				i++
			} else {
				break
			}
		}
		slices.Reverse(out) // longest first
		return out
	}
	slotTypes["times"] = func(ts []token) []option {
		var n, used int
		switch {
		case len(ts) >= 1 && ts[0].is("once"):
			n, used = 1, 1
		case len(ts) >= 1 && ts[0].is("twice"):
			n, used = 2, 1
		case len(ts) >= 2 && ts[1].is("times") && !ts[0].quoted:
			if v, ok := numberWords[strings.ToLower(ts[0].text)]; ok {
				n = v
			} else if v, err := strconv.Atoi(ts[0].text); err == nil && v > 0 && v <= 1000 {
				n = v
			}
			used = 2
		}
		if n == 0 {
			return nil
		}
		opts := []option{{used, times{n: n}}}
		if len(ts) >= used+2 && ts[used].is("at") && ts[used+1].is("once") {
			opts = append([]option{{used + 2, times{n: n, atOnce: true}}}, opts...)
		}
		return opts
	}
	slotTypes["link"] = func(ts []token) []option {
		if len(ts) >= 4 && ts[0].is("a") && ts[1].is("forged") && ts[3].is("link") && linkKind(ts[2]) != "" {
			return []option{{4, LinkRef{Kind: linkKind(ts[2]), Forged: true}}}
		}
		if len(ts) < 3 || !ts[0].is("the") {
			return nil
		}
		if linkKind(ts[1]) != "" && ts[2].is("link") {
			return []option{{3, LinkRef{Kind: linkKind(ts[1])}}}
		}
		if len(ts) < 4 || linkKind(ts[2]) == "" || !ts[3].is("link") || ts[1].quoted {
			return nil
		}
		w := strings.ToLower(ts[1].text)
		ref := LinkRef{Kind: linkKind(ts[2])}
		switch {
		case w == "latest" || w == "last" || w == "new":
		case w == "previous":
			ref.Nth = -1
		case ordinals[w] > 0:
			ref.Nth = ordinals[w]
		default:
			return nil
		}
		return []option{{4, ref}}
	}
	slotTypes["code"] = func(ts []token) []option {
		words := func(ws ...string) bool {
			if len(ts) < len(ws) {
				return false
			}
			for i, w := range ws {
				if w != "*" && !ts[i].is(w) {
					return false
				}
			}
			return true
		}
		switch {
		case words("the", "current", "code"):
			return []option{{3, CodeRef{Kind: CodeCurrent}}}
		case words("the", "same", "code", "again"):
			return []option{{4, CodeRef{Kind: CodeAgain}}}
		case words("a", "wrong", "code"):
			return []option{{3, CodeRef{Kind: CodeWrong}}}
		case len(ts) >= 2 && ts[0].is("code") && ts[1].quoted:
			return []option{{2, CodeRef{Kind: CodeLiteral, Literal: ts[1].text}}}
		case words("the", "code", "from", "*") && len(ts) >= 5 && (ts[4].is("ago") || ts[4].is("ahead")):
			d, err := domain.ParseDuration(ts[3].text)
			if err != nil || ts[3].quoted {
				return nil
			}
			off := d.Std()
			if ts[4].is("ago") {
				off = -off
			}
			return []option{{5, CodeRef{Kind: CodeOffset, Offset: off}}}
		}
		return nil
	}
	return slotTypes
}

func linkKind(t token) string {
	for _, k := range []string{domain.LinkActivation, domain.LinkReset, domain.LinkUnlock} {
		if t.is(k) {
			return k
		}
	}
	return ""
}
