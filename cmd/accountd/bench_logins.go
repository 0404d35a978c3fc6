package main

// The logins and mixed workloads of accountd bench: a pool of staff accounts set up through
// the API, then sign-ins drawn from a front-desk mix (documented in benchUsage).

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"accountd/http/api"
	"accountd/http/client"
)

const (
	benchMaxAccounts      = 20_000
	benchStaffPerProperty = 25
	benchMaxVictims       = 4
	benchAttackers        = 3
	// benchMailWait is how long the first activation mail may take to appear in the outbox
	// before the bench concludes the server does not write mail files it can read.
	benchMailWait = 5 * time.Second
	// benchSetupWorkers is how many set-up requests run at once.
	benchSetupWorkers = 8
)

// Request kinds of the logins and mixed workloads (indexes into load's results).
const (
	kindLogin = iota
	kindStatus
)

// Intents: what a sign-in is meant to be. The outcome table says how each was answered.
const (
	intentRight = iota
	intentTypo
	intentUnknown
	intentVictim
	intentCount
)

var intentNames = [intentCount]string{"right password", "typo", "unknown e-mail", "locked victim"}

// benchMix is the front-desk mix, in per mille of the sign-ins drawn (the right password
// that follows a typo is not drawn: it is part of the same person's sign-in).
var benchMix = [intentCount]int{850, 80, 30, 40}

// benchUserAgents are the browsers of a hotel's front desk and back office.
var benchUserAgents = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
	"Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
}

var benchAttackerAgents = []string{"python-requests/2.32.3", "curl/8.5.0", "Mozilla/5.0 (X11; Linux x86_64)"}

var benchLanguages = []string{"fr", "it", "en"}

// benchMember is one account of the pool with the requests that concern it, prepared once.
type benchMember struct {
	id, email, password string
	property            int
	ip, userAgent       string
	device, lang        string
	login, typo, status []byte
}

// benchPool is what the measured run draws from. The staff are used by one sign-in at a
// time (busy), so a typo is always followed by its correction before anyone else signs in
// on the account: its consecutive failures never pass one.
type benchPool struct {
	host, token   string
	run           string
	properties    int
	staff         []benchMember
	busy          []atomic.Bool
	victims       []benchMember
	attackers     []string
	unknownPrefix string
	unknownSeq    atomic.Uint64
}

type benchLogin struct {
	Email     string `json:"email"`
	Password  string `json:"password"`
	IP        string `json:"ip"`
	UserAgent string `json:"user_agent"`
	DeviceID  string `json:"device_id,omitempty"`
}

func (p *benchPool) loginRequest(l benchLogin, lang string) []byte {
	body, _ := json.Marshal(l)
	return fmt.Appendf(nil, "POST /v1/logins HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nAccept: application/json\r\nAccept-Language: %s\r\nContent-Length: %d\r\n\r\n%s",
		p.host, p.token, lang, len(body), body)
}

func (p *benchPool) statusRequest(id, lang string) []byte {
	return fmt.Appendf(nil, "GET /v1/accounts/%s/status HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nAccept: application/json\r\nAccept-Language: %s\r\n\r\n", id, p.host, p.token, lang)
}

// prepare fills an account's requests once its ID is known.
func (p *benchPool) prepare(a *benchMember) {
	a.login = p.loginRequest(benchLogin{Email: a.email, Password: a.password, IP: a.ip, UserAgent: a.userAgent, DeviceID: a.device}, a.lang)
	a.typo = p.loginRequest(benchLogin{Email: a.email, Password: benchTypo(a.password), IP: a.ip, UserAgent: a.userAgent, DeviceID: a.device}, a.lang)
	a.status = p.statusRequest(a.id, a.lang)
}

// unknownRequest is staff member a mistyping their e-mail address. Each address is new (an
// unknown address is locked, like an account, after the threshold of failures) and so is
// each origin (a phone on a mobile network), so no address gathers distinct failing e-mails.
func (p *benchPool) unknownRequest(a *benchMember) []byte {
	n := p.unknownSeq.Add(1)
	local, domain, _ := strings.Cut(a.email, "@")
	return p.loginRequest(benchLogin{Email: fmt.Sprintf("%s.%d@%s", local, n, domain), Password: a.password,
		IP: fmt.Sprintf("%s%x:%x", p.unknownPrefix, (n>>16)&0xffff, n&0xffff), UserAgent: a.userAgent}, a.lang)
}

// attackRequest is an attacker trying a password on a locked victim.
func (p *benchPool) attackRequest(v *benchMember, rng *rand.Rand) []byte {
	return p.loginRequest(benchLogin{Email: v.email, Password: fmt.Sprintf("Summer%d!", 2000+rng.IntN(27)),
		IP: p.attackers[rng.IntN(len(p.attackers))], UserAgent: benchAttackerAgents[rng.IntN(len(benchAttackerAgents))]}, "en")
}

// benchTypo swaps two neighbouring characters in the middle of the password.
func benchTypo(pw string) string {
	b := []byte(pw)
	for i := len(b) / 2; i+1 < len(b); i++ {
		if b[i] != b[i+1] {
			b[i], b[i+1] = b[i+1], b[i]
			return string(b)
		}
	}
	return pw + "x"
}

// benchLogins runs the logins or mixed workload.
func benchLogins(f benchFlags, client *http.Client, target *url.URL, tokens map[api.Role]string, stdout io.Writer) error {
	base := strings.TrimRight(f.url, "/")
	began := time.Now()
	pool, err := benchSetUp(client, base, target.Host, tokens[api.RoleAdmin], f)
	if err != nil {
		return fmt.Errorf("setting up the accounts: %w", err)
	}
	victims := make([]string, len(pool.victims))
	for i, v := range pool.victims {
		victims[i] = v.id
	}
	fmt.Fprintf(stdout, "set up %d staff accounts in %d properties and %d locked victims in %.1fs (run %s; victims %s)\n",
		len(pool.staff), pool.properties, len(pool.victims), time.Since(began).Seconds(), pool.run, strings.Join(victims, " "))
	reads := 0
	if f.workload == "mixed" {
		reads = f.readsPerLogin
	}
	pace := "closed loop"
	if f.rate > 0 {
		pace = fmt.Sprintf("open loop at %d req/s", f.rate)
	}
	fmt.Fprintf(stdout, "POST %s/v1/logins", base)
	if reads > 0 {
		fmt.Fprintf(stdout, ", each followed by %d GET /v1/accounts/{id}/status,", reads)
	}
	fmt.Fprintf(stdout, " with %d connections, %s, %s warm-up, %s measured\n", f.connections, pace, f.warmup, f.duration)
	run := func(d time.Duration) ([]loadResult, loginTally) {
		tallies := make([]loginTally, f.connections)
		rs := load(target, 2, f.connections, d, f.maxRequests, f.rate, func(i int) benchScript {
			tallies[i] = loginTally{}
			return &loginScript{pool: pool, reads: reads, tally: tallies[i], claimed: -1,
				rng: rand.New(rand.NewPCG(rand.Uint64(), uint64(i)))}
		})
		all := loginTally{}
		for _, t := range tallies {
			all.merge(t)
		}
		return rs, all
	}
	if f.warmup > 0 {
		run(f.warmup)
	}
	benchMeasuring(true)
	rs, tally := run(f.duration)
	benchMeasuring(false)
	rs[kindLogin].printAs(stdout, "login   ")
	if reads > 0 {
		rs[kindStatus].printAs(stdout, "status  ")
	}
	tally.print(stdout)
	if rs[kindLogin].ok == 0 {
		return errors.New("no login was answered")
	}
	return nil
}

// benchMeasuring is called as the measured run of the logins and mixed workloads starts
// (true) and ends (false): BenchmarkLoginPath profiles and times that run alone.
var benchMeasuring = func(start bool) {}

// loginScript is one worker's front desk: it draws a sign-in from the mix and sends its
// requests (a typo's correction, the status reads) one after the other.
type loginScript struct {
	pool    *benchPool
	rng     *rand.Rand
	reads   int
	tally   loginTally
	queue   []benchStep
	pos     int
	claimed int // the staff account this worker holds, or -1
}

type benchStep struct {
	req    benchRequest
	intent int
}

func (s *loginScript) next() benchRequest {
	if s.pos == len(s.queue) {
		s.plan()
	}
	return s.queue[s.pos].req
}

func (s *loginScript) done(status int, body []byte, err error) {
	st := s.queue[s.pos]
	s.pos++
	if st.req.kind == kindLogin {
		s.tally.add(st.intent, loginOutcome(status, body, err))
	}
	if s.pos == len(s.queue) {
		s.close()
	}
}

func (s *loginScript) close() {
	if s.claimed >= 0 {
		s.pool.busy[s.claimed].Store(false)
		s.claimed = -1
	}
}

func (s *loginScript) plan() {
	s.queue, s.pos = s.queue[:0], 0
	draw := s.rng.IntN(1000)
	intent := 0
	for ; intent < intentCount-1 && draw >= benchMix[intent]; intent++ {
		draw -= benchMix[intent]
	}
	p := s.pool
	switch intent {
	case intentRight:
		a := s.claim()
		s.add(a.login, intentRight, a)
	case intentTypo:
		a := s.claim()
		s.add(a.typo, intentTypo, a)
		s.add(a.login, intentRight, a)
	case intentUnknown:
		a := &p.staff[s.rng.IntN(len(p.staff))]
		s.add(p.unknownRequest(a), intentUnknown, a)
	case intentVictim:
		v := &p.victims[s.rng.IntN(len(p.victims))]
		s.add(p.attackRequest(v, s.rng), intentVictim, v)
	}
}

// add queues a login and the status reads of the account it concerns.
func (s *loginScript) add(login []byte, intent int, a *benchMember) {
	s.queue = append(s.queue, benchStep{req: benchRequest{kind: kindLogin, raw: login, wantBody: true}, intent: intent})
	for range s.reads {
		s.queue = append(s.queue, benchStep{req: benchRequest{kind: kindStatus, raw: a.status}})
	}
}

// claim takes a staff account nobody is signing in on, waiting if every one is in use.
func (s *loginScript) claim() *benchMember {
	n := len(s.pool.staff)
	for {
		start := s.rng.IntN(n)
		for k := range n {
			i := (start + k) % n
			if s.pool.busy[i].CompareAndSwap(false, true) {
				s.claimed = i
				return &s.pool.staff[i]
			}
		}
		time.Sleep(time.Millisecond)
	}
}

// loginOutcome names how a login was answered: "allowed", "denied <reason>", the throttle,
// another HTTP status with its error code, or a transport error.
func loginOutcome(status int, body []byte, err error) string {
	switch {
	case err != nil:
		return outcomeError
	case status == http.StatusTooManyRequests:
		return outcomeThrottled
	case status == http.StatusOK:
		var r struct{ Decision, Reason string }
		if json.Unmarshal(body, &r) != nil || r.Decision == "" {
			return outcomeError
		}
		if r.Reason == "" || r.Reason == r.Decision {
			return r.Decision
		}
		return r.Decision + " " + r.Reason
	default:
		var e struct{ Error struct{ Code string } }
		json.Unmarshal(body, &e)
		return strings.TrimSpace(fmt.Sprintf("HTTP %d %s", status, e.Error.Code))
	}
}

const (
	outcomeThrottled = "throttled (429)"
	outcomeError     = "errors"
)

// loginTally counts login outcomes by intent.
type loginTally map[string]*[intentCount]int

func (t loginTally) add(intent int, outcome string) {
	c := t[outcome]
	if c == nil {
		c = new([intentCount]int)
		t[outcome] = c
	}
	c[intent]++
}

func (t loginTally) merge(o loginTally) {
	for k, c := range o {
		if t[k] == nil {
			t[k] = new([intentCount]int)
		}
		for i, n := range c {
			t[k][i] += n
		}
	}
}

func (t loginTally) count(outcome string) int {
	n := 0
	if c := t[outcome]; c != nil {
		for _, v := range c {
			n += v
		}
	}
	return n
}

// print writes one line per outcome, allowed first, then denials, then the rest, always
// with the throttled and error lines, each with its split by intent.
func (t loginTally) print(w io.Writer) {
	var keys []string
	total := 0
	for k := range t {
		total += t.count(k)
		if k != outcomeThrottled && k != outcomeError {
			keys = append(keys, k)
		}
	}
	rank := func(k string) int {
		switch {
		case k == "allowed":
			return 0
		case strings.HasPrefix(k, "denied"):
			return 1
		}
		return 2
	}
	slices.SortFunc(keys, func(a, b string) int {
		if d := rank(a) - rank(b); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	keys = append(keys, outcomeThrottled, outcomeError)
	fmt.Fprintf(w, "login outcomes (%d attempts):\n", total)
	for _, k := range keys {
		var parts []string
		if c := t[k]; c != nil {
			for i, n := range c {
				if n > 0 {
					parts = append(parts, fmt.Sprintf("%s %d", intentNames[i], n))
				}
			}
		}
		line := fmt.Sprintf("  %-34s %8d", k, t.count(k))
		if len(parts) > 0 {
			line += "  (" + strings.Join(parts, ", ") + ")"
		}
		fmt.Fprintln(w, line)
	}
	if c := t["allowed"]; c == nil || c[intentRight] < t.countIntent(intentRight) {
		fmt.Fprintln(w, "note: not every right password was allowed (is MFA required? serve --policy mfa_required=false)")
	}
}

func (t loginTally) countIntent(intent int) int {
	n := 0
	for _, c := range t {
		n += c[intent]
	}
	return n
}

// benchSetUp creates the properties, registers and activates the staff accounts, and locks
// the victims.
func benchSetUp(hc *http.Client, base, host, adminToken string, f benchFlags) (*benchPool, error) {
	if adminToken == "" {
		return nil, errors.New("need the admin token in --data/tokens to create the properties")
	}
	r1, r2 := rand.Uint32(), rand.Uint32()
	p := &benchPool{host: host, token: f.token, run: fmt.Sprintf("%06x", r1&0xffffff),
		properties: (f.accounts + benchStaffPerProperty - 1) / benchStaffPerProperty,
		staff:      make([]benchMember, f.accounts), busy: make([]atomic.Bool, f.accounts),
		victims:       make([]benchMember, min(max(f.accounts/50, 1), benchMaxVictims)),
		unknownPrefix: fmt.Sprintf("2001:db8:%x:%x::", r1>>16, r2&0xffff),
	}
	for k := range benchAttackers {
		p.attackers = append(p.attackers, fmt.Sprintf("2001:db8:%x:bad::%d", r2>>16, k+1))
	}

	// Properties.
	ctx := context.Background()
	admin := client.New(base, adminToken, hc)
	ls := admin.WithToken(p.token)
	props := make([]string, p.properties)
	if err := benchParallel(p.properties, func(i int) error {
		out, err := admin.CreateProperty(ctx, fmt.Sprintf("Bench Hotel %d (%s)", i+1, p.run), fmt.Sprintf("direction.%s@hotel%02d.example.com", p.run, i+1))
		props[i] = out.PropertyID
		return err
	}); err != nil {
		return nil, err
	}

	// Staff: each with its own address (in 198.18.0.0/15, the benchmarking range), device,
	// browser and language, kept for every sign-in.
	ipBase := int(r2 % (1 << 17))
	for i := range p.staff {
		v := (ipBase + i) % (1 << 17)
		prop := i % p.properties
		p.staff[i] = benchMember{
			email:    fmt.Sprintf("staff%04d.%s@hotel%02d.example.com", i, p.run, prop+1),
			password: fmt.Sprintf("Harbour view %04d at dawn", i), property: prop,
			ip:        fmt.Sprintf("198.%d.%d.%d", 18+(v>>16), (v>>8)&0xff, v&0xff),
			userAgent: benchUserAgents[i%len(benchUserAgents)], device: fmt.Sprintf("desk-%s-%04d", p.run, i),
			lang: benchLanguages[prop%len(benchLanguages)],
		}
	}
	for i := range p.victims {
		p.victims[i] = benchMember{email: fmt.Sprintf("gm%d.%s@hotel01.example.com", i, p.run),
			password: fmt.Sprintf("Grand lobby %d at midnight", i), lang: "fr"}
	}
	all := make([]*benchMember, 0, len(p.staff)+len(p.victims))
	for i := range p.staff {
		all = append(all, &p.staff[i])
	}
	for i := range p.victims {
		all = append(all, &p.victims[i])
	}
	if err := benchParallel(len(all), func(i int) error {
		a := all[i]
		out, err := ls.Register(ctx, client.Registration{Email: a.email, Password: a.password, PropertyID: props[a.property]})
		a.id = out.AccountID
		return err
	}); err != nil {
		return nil, err
	}

	// Activation, with the links from the outbox.
	want := map[string]bool{}
	for _, a := range all {
		want[strings.ToLower(a.email)] = true
	}
	links, err := benchActivationTokens(filepath.Join(f.data, "outbox"), want)
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	var position uint64
	seen := func(pos uint64) {
		mu.Lock()
		position = max(position, pos)
		mu.Unlock()
	}
	if err := benchParallel(len(all), func(i int) error {
		out, err := ls.Activate(ctx, links[strings.ToLower(all[i].email)])
		seen(out.Position)
		return err
	}); err != nil {
		return nil, err
	}

	// The victims: wrong passwords until locked.
	if err := benchParallel(len(p.victims), func(i int) error {
		v := &p.victims[i]
		for range 11 { // the policy caps the threshold at 10
			out, err := ls.Login(ctx, client.Login{Email: v.email, Password: "Password123!", IP: p.attackers[i%len(p.attackers)], UserAgent: benchAttackerAgents[0]})
			if err != nil {
				return fmt.Errorf("locking victim %s: %w", v.email, err)
			}
			seen(out.Position)
			if out.Reason == "account_locked" {
				return nil
			}
		}
		return fmt.Errorf("victim %s did not lock after 11 wrong passwords", v.email)
	}); err != nil {
		return nil, err
	}

	// Wait until the status read model has all of it, so the reads find every account.
	for i := range all {
		p.prepare(all[i])
	}
	// The status read waits for the last write's position (bounded by the server).
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := ls.Status(ctx, p.victims[0].id, client.ReadAfter(position))
		if err == nil {
			return p, nil
		}
		if client.ErrorCode(err) != "not_caught_up" || time.Now().After(deadline) {
			return nil, fmt.Errorf("the status read model did not reach position %d: %w", position, err)
		}
	}
}

// benchParallel runs do(0..n-1) on a few goroutines and returns the first error.
func benchParallel(n int, do func(i int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, benchSetupWorkers)
	for w := range benchSetupWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || errs[w] != nil {
					return
				}
				errs[w] = do(i)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// benchActivationTokens waits for the activation mail to each address of want in the
// outbox directory dir and returns the token of each mail's link (its X-Accountd-Link
// header), by lower-case address.
func benchActivationTokens(dir string, want map[string]bool) (map[string]string, error) {
	tokens := map[string]string{}
	read := map[string]bool{}
	progress, patience := time.Now(), benchMailWait
	for len(tokens) < len(want) {
		entries, err := os.ReadDir(dir)
		if err != nil && !os.IsNotExist(err) {
			return nil, err
		}
		before := len(tokens)
		for _, de := range entries {
			name := de.Name()
			if !strings.HasSuffix(name, ".eml") || read[name] {
				continue
			}
			read[name] = true
			to, token, ok := benchReadActivation(filepath.Join(dir, name))
			if ok && want[to] {
				tokens[to] = token
			}
		}
		if len(tokens) > before {
			progress, patience = time.Now(), 30*time.Second
		}
		if time.Since(progress) > patience {
			if len(tokens) == 0 {
				return nil, fmt.Errorf("no activation mail for the bench's accounts appeared in %s within %s: the logins and mixed workloads activate their accounts with the links the server writes there, so the server must run on this machine with --data %s and send mail to files, not by SMTP (--smtp-addr)",
					dir, benchMailWait, filepath.Dir(dir))
			}
			return nil, fmt.Errorf("only %d of %d activation mails appeared in %s (none in the last %s)", len(tokens), len(want), dir, patience)
		}
		if len(tokens) < len(want) {
			time.Sleep(50 * time.Millisecond)
		}
	}
	return tokens, nil
}

// benchReadActivation reads an .eml file's headers: the recipient and, for an activation
// mail, the token of its link.
func benchReadActivation(path string) (to, token string, ok bool) {
	file, err := os.Open(path)
	if err != nil {
		return "", "", false
	}
	defer file.Close()
	msg, err := mail.ReadMessage(bufio.NewReader(file))
	if err != nil || msg.Header.Get("X-Accountd-Kind") != "activation" {
		return "", "", false
	}
	addr, err := mail.ParseAddress(msg.Header.Get("To"))
	if err != nil {
		return "", "", false
	}
	link, err := url.Parse(strings.TrimSpace(msg.Header.Get("X-Accountd-Link")))
	if err != nil || link.Query().Get("token") == "" {
		return "", "", false
	}
	return strings.ToLower(addr.Address), link.Query().Get("token"), true
}
