package console

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"accountd/domain"
	"accountd/domain/messages"
	"accountd/http/api"
)

// pageTemplate is one page: the layout with the page's own content.
type pageTemplate struct{ t *template.Template }

var pageNames = []string{"sign-in", "error", "accounts", "account", "confirm", "suspicious", "properties", "property",
	"compliance", "what-if", "overview", "link"}

func parsePages() (map[string]*pageTemplate, error) {
	out := map[string]*pageTemplate{}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/partials.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", name, err)
		}
		out[name] = &pageTemplate{t: t}
	}
	return out, nil
}

var funcs = template.FuncMap{
	"str": func(v any) string {
		switch x := v.(type) {
		case nil:
			return ""
		case string:
			return x
		case float64:
			if x == float64(int64(x)) {
				return fmt.Sprintf("%d", int64(x))
			}
			return fmt.Sprintf("%g", x)
		}
		return fmt.Sprint(v)
	},
	"list": func(v any) []any { l, _ := v.([]any); return l },
	"obj":  func(v any) map[string]any { m, _ := v.(map[string]any); return m },
	"shorttime": func(v any) string {
		s, _ := v.(string)
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return s
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"query": func(kv ...string) template.URL {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] != "" {
				v.Set(kv[i], kv[i+1])
			}
		}
		return template.URL(v.Encode())
	},
	// justBefore is the datetime-local value one second before an instant: the state
	// before the event recorded then.
	"justBefore": func(v any) string {
		t, err := time.Parse(time.RFC3339Nano, asString(v))
		if err != nil {
			return ""
		}
		return localValue(t.Add(-time.Second))
	},
	"has": func(list any, s string) bool {
		l, _ := list.([]string)
		for _, x := range l {
			if x == s {
				return true
			}
		}
		return false
	},
	"statusClass": func(v any) string {
		s, _ := v.(string)
		switch s {
		case "active":
			return "ok"
		case "pending_activation", "":
			return "neutral"
		}
		return "bad"
	},
}

// page is what every template reads: the visitor, the language, the words, the page's data.
type page struct {
	Lang     messages.Lang
	Langs    []langLink
	Title    string
	Nav      []navLink
	Roles    string
	SignedIn bool
	CSRF     string
	Idem     string
	Error    string
	Notes    []string
	Flash    string
	FlashOK  bool
	Path     string
	Data     map[string]any
	Public   bool
	con      *Console
	sess     *session
}

type langLink struct {
	Code, Name string
	Href       string
	Current    bool
}

type navLink struct {
	Href, Label string
	Current     bool
}

var langNames = map[messages.Lang]string{messages.English: "English", messages.French: "Français", messages.Italian: "Italiano"}

// T is the text of key in the page's language.
func (p *page) T(key string) string { return text(key, p.Lang) }

// Tf is T with fmt arguments.
func (p *page) Tf(key string, args ...any) string { return fmt.Sprintf(text(key, p.Lang), args...) }

// May reports whether the visitor may call the API route (what is not allowed is not shown).
func (p *page) May(route string) bool { return p.con.may(p.sess, route) }

// Reason is a reason code's message and remediation, from the same catalog as the API's.
func (p *page) Reason(code any) []string {
	s, _ := code.(string)
	msg, fix := messages.Reason(s, p.Lang, domain.DisclosureSpecific)
	return []string{msg, fix}
}

// lang is the visitor's language: the one they chose (remembered in a cookie), else their
// browser's Accept-Language, matched as the API matches it.
func lang(r *http.Request) messages.Lang {
	if q := r.URL.Query().Get("lang"); q != "" {
		for _, l := range messages.Langs {
			if l.String() == q {
				return l
			}
		}
	}
	if ck, err := r.Cookie(langCookie); err == nil {
		for _, l := range messages.Langs {
			if l.String() == ck.Value {
				return l
			}
		}
	}
	return messages.Match(r.Header.Get("Accept-Language"))
}

func (c *Console) newPage(w http.ResponseWriter, r *http.Request, s *session, title string) *page {
	sid := c.sid(w, r)
	p := &page{Lang: lang(r), Title: title, CSRF: c.csrf(sid), Idem: randomID(), Path: r.URL.RequestURI(), con: c, sess: s, SignedIn: s != nil}
	back := r.URL.RequestURI()
	for _, l := range messages.Langs {
		p.Langs = append(p.Langs, langLink{Code: l.String(), Name: langNames[l], Current: l == p.Lang,
			Href: "/console/lang?" + url.Values{"to": {l.String()}, "back": {back}}.Encode()})
	}
	if s != nil {
		roles := c.roles(s)
		names := make([]string, len(roles))
		for i, role := range roles {
			names[i] = string(role)
		}
		p.Roles = strings.Join(names, ", ")
		for _, n := range []struct{ href, label, route string }{
			{"/console/overview", "nav_overview", "security.timeline"},
			{"/console/accounts", "nav_accounts", "accounts.status"},
			{"/console/properties", "nav_properties", "properties.find"},
			{"/console/suspicious-activity", "nav_suspicious", "security.timeline"},
			{"/console/what-if", "nav_whatif", "security.what_if"},
			{"/console/compliance", "nav_compliance", "compliance.checkpoint"},
		} {
			if c.may(s, n.route) {
				p.Nav = append(p.Nav, navLink{Href: n.href, Label: p.T(n.label), Current: strings.HasPrefix(r.URL.Path, n.href)})
			}
		}
	}
	return p
}

// render writes the page; a template that fails is a bug, logged and answered 500.
func (c *Console) render(w http.ResponseWriter, status int, name string, p *page) {
	var buf bytes.Buffer
	if err := c.pages[name].t.Execute(&buf, p); err != nil {
		c.log.Error("console: rendering a page failed", "page", name, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", p.Lang.String())
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (c *Console) home(w http.ResponseWriter, r *http.Request) {
	s, _ := c.session(r)
	if s == nil {
		http.Redirect(w, r, "/console/sign-in", http.StatusSeeOther)
		return
	}
	for _, n := range []struct{ href, route string }{
		{"/console/overview", "security.timeline"}, {"/console/accounts", "accounts.status"}, {"/console/compliance", "compliance.checkpoint"},
	} {
		if c.may(s, n.route) {
			http.Redirect(w, r, n.href, http.StatusSeeOther)
			return
		}
	}
	p := c.newPage(w, r, s, "")
	c.forbidden(w, p)
}

func (c *Console) signInPage(w http.ResponseWriter, r *http.Request) {
	p := c.newPage(w, r, nil, "")
	p.Title = p.T("sign_in")
	c.render(w, http.StatusOK, "sign-in", p)
}

func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	if !c.checkCSRF(w, r, c.sid(w, r)) {
		return
	}
	p := c.newPage(w, r, nil, "")
	p.Title = p.T("sign_in")
	token := strings.TrimSpace(r.PostFormValue("token"))
	roles := c.api.TokenRoles(token)
	if len(roles) == 0 {
		p.Error = p.T("sign_in_refused")
		c.render(w, http.StatusUnauthorized, "sign-in", p)
		return
	}
	if len(roles) == 1 && roles[0] == api.RoleLoginService {
		p.Error = p.T("sign_in_login_service")
		c.render(w, http.StatusForbidden, "sign-in", p)
		return
	}
	// A new session ID at sign-in: an ID planted before it is worth nothing after.
	id := randomID()
	c.store(id, &session{token: token, roles: roles, expires: c.cfg.Clock().Add(c.cfg.SessionTTL)})
	c.setSessionCookie(w, r, id)
	r.Header.Del("Cookie")
	r.AddCookie(&http.Cookie{Name: sessionCookie, Value: id})
	c.home(w, r)
}

func (c *Console) signOut(w http.ResponseWriter, r *http.Request) {
	s, id := c.session(r)
	if !c.checkCSRF(w, r, c.sid(w, r)) {
		return
	}
	if s != nil {
		c.drop(id)
	}
	c.setSessionCookie(w, r, randomID())
	http.Redirect(w, r, "/console/sign-in", http.StatusSeeOther)
}

// switchLang remembers the chosen language and goes back to the page it was chosen on.
func (c *Console) switchLang(w http.ResponseWriter, r *http.Request) {
	to := r.URL.Query().Get("to")
	for _, l := range messages.Langs {
		if l.String() == to {
			http.SetCookie(w, &http.Cookie{Name: langCookie, Value: to, Path: "/", MaxAge: 365 * 24 * 3600, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
		}
	}
	back := r.URL.Query().Get("back")
	// Only a path of this server: never a redirect elsewhere.
	if !strings.HasPrefix(back, "/") || strings.HasPrefix(back, "//") || strings.Contains(back, "\\") {
		back = Prefix
	}
	if u, err := url.Parse(back); err == nil {
		q := u.Query()
		q.Del("lang")
		u.RawQuery = q.Encode()
		back = u.RequestURI()
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}
