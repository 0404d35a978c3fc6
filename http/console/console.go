// Package console is what people see in a browser: the console of the security team,
// administrators and auditors at /console/, and the public pages the mailed links open
// (/activate, /reset-password, /unlock).
//
// It is server-rendered with html/template, its stylesheet and its one small script are
// embedded in the binary, and nothing is fetched from elsewhere. It decides nothing: every
// read and every action is a request to the HTTP API in the same process (api.API), with
// the signed-in person's own bearer token, so the roles, the checks, the commands and the
// queries are the API's. Sign-in is with a role's API token, typed into a form field named
// token; what a role may not do is not shown (api.API.May), and refused by the API if asked.
package console

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"accountd/domain"
	"accountd/domain/messages"
	"accountd/http/api"
)

//go:embed templates static
var files embed.FS

// Config is what the console needs.
type Config struct {
	// API is the HTTP API every page reads from and every action goes through.
	API *api.API
	// Policy is the policy in force: the public pages show its password rules.
	Policy func() domain.Policy
	// Clock is the server's clock (default time.Now).
	Clock  func() time.Time
	Logger *slog.Logger
	// Console serves the console at /console/.
	Console bool
	// PublicPages serves /activate, /reset-password and /unlock; a vendor with its own front
	// end for the mailed links leaves it off.
	PublicPages bool
	// SessionTTL is how long a sign-in lasts without use (default 30 minutes).
	SessionTTL time.Duration
	// Key signs the CSRF tokens (default: random at start, so a restart signs everyone out).
	Key []byte
}

// Console is the HTTP handler of the console and of the public pages.
type Console struct {
	cfg      Config
	api      *api.API
	log      *slog.Logger
	mux      *http.ServeMux
	pages    map[string]*pageTemplate
	key      []byte
	mu       sync.Mutex
	sessions map[string]*session
}

// Cookie names.
const (
	sessionCookie = "accountd_session"
	langCookie    = "accountd_lang"
)

// maxSessions bounds the signed-in sessions kept (each needs a valid API token to exist).
const maxSessions = 10000

type session struct {
	token   string
	roles   []api.Role
	expires time.Time
	flash   string
	flashOK bool
}

// New builds the console.
func New(c Config) (*Console, error) {
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.SessionTTL <= 0 {
		c.SessionTTL = 30 * time.Minute
	}
	if c.Policy == nil {
		c.Policy = domain.DefaultPolicy
	}
	key := c.Key
	if len(key) == 0 {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	con := &Console{cfg: c, api: c.API, log: c.Logger.With("component", "console"), pages: pages, key: key, sessions: map[string]*session{}}
	con.routes()
	return con, nil
}

// Paths the server routes to the console.
var (
	// Prefix is where the console lives.
	Prefix = "/console/"
	// PublicPaths are the pages of the mailed links.
	PublicPaths = []string{"/activate", "/reset-password", "/unlock"}
)

func (c *Console) routes() {
	m := http.NewServeMux()
	static, _ := fs.Sub(files, "static")
	m.Handle("GET /console/static/", http.StripPrefix("/console/static/", http.FileServerFS(static)))
	m.HandleFunc("GET /console/{$}", c.home)
	m.HandleFunc("GET /console/sign-in", c.signInPage)
	m.HandleFunc("POST /console/sign-in", c.signIn)
	m.HandleFunc("POST /console/sign-out", c.signOut)
	m.HandleFunc("GET /console/lang", c.switchLang)
	m.HandleFunc("GET /console/accounts", c.signedIn(c.accounts))
	m.HandleFunc("GET /console/accounts/{id}", c.signedIn(c.account))
	m.HandleFunc("GET /console/accounts/{id}/confirm/{action}", c.signedIn(c.confirmAction))
	m.HandleFunc("POST /console/accounts/{id}/actions/{action}", c.signedIn(c.doAction))
	m.HandleFunc("GET /console/suspicious-activity", c.signedIn(c.suspicious))
	m.HandleFunc("GET /console/properties", c.signedIn(c.properties))
	m.HandleFunc("GET /console/properties/{id}", c.signedIn(c.property))
	m.HandleFunc("GET /console/compliance", c.signedIn(c.compliance))
	m.HandleFunc("GET /console/compliance/download/{kind}", c.signedIn(c.download))
	m.HandleFunc("POST /console/compliance/verify", c.signedIn(c.verifyLog))
	m.HandleFunc("GET /console/what-if", c.signedIn(c.whatIf))
	m.HandleFunc("POST /console/what-if", c.signedIn(c.whatIf))
	m.HandleFunc("GET /console/overview", c.signedIn(c.overview))
	m.HandleFunc("/console/", c.notFound)
	if c.cfg.PublicPages {
		m.HandleFunc("GET /activate", c.linkPage("activate"))
		m.HandleFunc("POST /activate", c.linkSubmit("activate"))
		m.HandleFunc("GET /unlock", c.linkPage("unlock"))
		m.HandleFunc("POST /unlock", c.linkSubmit("unlock"))
		m.HandleFunc("GET /reset-password", c.linkPage("reset"))
		m.HandleFunc("POST /reset-password", c.linkSubmit("reset"))
	}
	c.mux = m
}

// Serves reports whether the console answers the path (the server sends the rest to the API).
func (c *Console) Serves(path string) bool {
	if strings.HasPrefix(path, "/console/static/") {
		return true // the public pages use the stylesheet and the script too
	}
	if c.cfg.Console && (path == "/console" || strings.HasPrefix(path, Prefix)) {
		return true
	}
	if c.cfg.PublicPages {
		for _, p := range PublicPaths {
			if path == p {
				return true
			}
		}
	}
	return false
}

// ServeHTTP serves a console or public page with the headers every page carries.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	if r.URL.Path == "/console" {
		http.Redirect(w, r, Prefix, http.StatusMovedPermanently)
		return
	}
	c.mux.ServeHTTP(w, r)
}

// sid returns the visitor's session ID, giving a new visitor one (the CSRF tokens of
// their forms are bound to it, signed in or not).
func (c *Console) sid(w http.ResponseWriter, r *http.Request) string {
	if ck, err := r.Cookie(sessionCookie); err == nil && len(ck.Value) == 43 {
		return ck.Value
	}
	id := randomID()
	c.setSessionCookie(w, r, id)
	r.AddCookie(&http.Cookie{Name: sessionCookie, Value: id})
	return id
}

func (c *Console) setSessionCookie(w http.ResponseWriter, r *http.Request, id string) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
}

func randomID() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// csrf is the token a form of this session carries: an HMAC of the session ID, so it
// needs no storage and a page of another session cannot supply it.
func (c *Console) csrf(sid string) string {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte("csrf\x00" + sid))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkCSRF refuses a form without this session's token with 403 and a page saying so.
func (c *Console) checkCSRF(w http.ResponseWriter, r *http.Request, sid string) bool {
	got := r.PostFormValue("csrf")
	if got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(c.csrf(sid))) == 1 {
		return true
	}
	p := c.newPage(w, r, nil, "")
	p.Title = p.T("csrf_title")
	p.Error = p.T("csrf_refused")
	c.render(w, http.StatusForbidden, "error", p)
	return false
}

// session returns the signed-in session of the request (nil: not signed in), extending it.
func (c *Console) session(r *http.Request) (*session, string) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, ""
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.sessions[ck.Value]
	now := c.cfg.Clock()
	if s == nil {
		return nil, ck.Value
	}
	if now.After(s.expires) {
		delete(c.sessions, ck.Value)
		return nil, ck.Value
	}
	s.expires = now.Add(c.cfg.SessionTTL)
	return s, ck.Value
}

func (c *Console) store(id string, s *session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.cfg.Clock()
	if len(c.sessions) >= maxSessions {
		for k, v := range c.sessions {
			if now.After(v.expires) {
				delete(c.sessions, k)
			}
		}
		for k := range c.sessions {
			if len(c.sessions) < maxSessions {
				break
			}
			delete(c.sessions, k)
		}
	}
	c.sessions[id] = s
}

func (c *Console) drop(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.sessions, id)
}

// setFlash keeps the result of an action for the page the browser is sent to next.
func (c *Console) setFlash(s *session, msg string, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s.flash, s.flashOK = msg, ok
}

func (c *Console) takeFlash(s *session) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	msg, ok := s.flash, s.flashOK
	s.flash = ""
	return msg, ok
}

type signedInHandler func(w http.ResponseWriter, r *http.Request, s *session, p *page)

// signedIn serves h to a signed-in person, sending anyone else to the sign-in form.
func (c *Console) signedIn(h signedInHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, _ := c.session(r)
		if s == nil {
			http.Redirect(w, r, "/console/sign-in", http.StatusSeeOther)
			return
		}
		// The token may have been revoked since sign-in: the tokens file is re-read.
		if roles := c.api.TokenRoles(s.token); len(roles) == 0 {
			_, id := c.session(r)
			c.drop(id)
			http.Redirect(w, r, "/console/sign-in", http.StatusSeeOther)
			return
		} else {
			c.mu.Lock()
			s.roles = roles
			c.mu.Unlock()
		}
		if r.Method == http.MethodPost {
			if !c.checkCSRF(w, r, c.sid(w, r)) {
				return
			}
		}
		p := c.newPage(w, r, s, "")
		p.Flash, p.FlashOK = c.takeFlash(s)
		h(w, r, s, p)
	}
}

// may reports whether the session's roles may call the API route.
func (c *Console) may(s *session, route string) bool {
	if s == nil {
		return false
	}
	return c.api.May(route, c.roles(s))
}

// roles are the session's roles as its token grants them now.
func (c *Console) roles(s *session) []api.Role {
	c.mu.Lock()
	defer c.mu.Unlock()
	return s.roles
}

// forbidden answers a page the role may not see.
func (c *Console) forbidden(w http.ResponseWriter, p *page) {
	p.Title = p.T("forbidden_title")
	p.Error = p.T("forbidden")
	c.render(w, http.StatusForbidden, "error", p)
}

func (c *Console) notFound(w http.ResponseWriter, r *http.Request) {
	s, _ := c.session(r)
	p := c.newPage(w, r, s, "")
	p.Title = p.T("not_found_title")
	p.Error = p.T("not_found")
	c.render(w, http.StatusNotFound, "error", p)
}

// result is an API answer as the console reads it.
type result struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (r result) ok() bool { return r.status >= 200 && r.status < 300 }

// errorMessage is the API's message for a refusal, in the language asked (the API words it).
func (r result) errorMessage() string {
	e, _ := r.body["error"].(map[string]any)
	msg, _ := e["message"].(string)
	if msg == "" {
		msg = http.StatusText(r.status)
	}
	return msg
}

func (r result) errorCode() string {
	e, _ := r.body["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

// violations are the password rules a rejected password broke, in the API's words.
func (r result) violations() []string {
	e, _ := r.body["error"].(map[string]any)
	d, _ := e["details"].(map[string]any)
	vs, _ := d["violations"].([]any)
	var out []string
	for _, v := range vs {
		m, _ := v.(map[string]any)
		if rule, _ := m["rule"].(string); rule != "" {
			out = append(out, rule)
		}
	}
	return out
}

// recorder collects an in-process API answer.
type recorder struct {
	h      http.Header
	status int
	buf    bytes.Buffer
}

func (rec *recorder) Header() http.Header { return rec.h }
func (rec *recorder) WriteHeader(code int) {
	if rec.status == 0 {
		rec.status = code
	}
}
func (rec *recorder) Write(b []byte) (int, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rec.buf.Write(b)
}

// apiRequest is a request to the API on behalf of the page's visitor: their token, their
// language, their address.
func (c *Console) apiRequest(r *http.Request, s *session, lang messages.Lang, method, path string, body any) *http.Request {
	var rd io.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequestWithContext(r.Context(), method, path, rd)
	req.RemoteAddr = r.RemoteAddr
	req.Header.Set("Accept-Language", lang.String())
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if s != nil {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	if key := r.PostFormValue("idem"); key != "" && method != http.MethodGet {
		req.Header.Set("Idempotency-Key", "console:"+key)
	}
	return req
}

// call asks the API with the session's token.
func (c *Console) call(r *http.Request, s *session, lang messages.Lang, method, path string, body any) result {
	return c.serveAPI(c.api, c.apiRequest(r, s, lang, method, path, body))
}

// callAs asks the API as a client with the roles (the public pages, for the login service).
func (c *Console) callAs(r *http.Request, lang messages.Lang, method, path string, body any, roles ...api.Role) result {
	return c.serveAPI(c.api.As(roles...), c.apiRequest(r, nil, lang, method, path, body))
}

func (c *Console) serveAPI(h http.Handler, req *http.Request) result {
	rec := &recorder{h: http.Header{}}
	h.ServeHTTP(rec, req)
	out := result{status: rec.status, header: rec.h, raw: rec.buf.Bytes()}
	if strings.Contains(rec.h.Get("Content-Type"), "json") {
		_ = json.Unmarshal(out.raw, &out.body)
	}
	return out
}
