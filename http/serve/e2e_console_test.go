package serve_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"accountd/http/api"
	"accountd/http/serve"
)

// The console over plain HTTP (no browser): its headers, cookies, CSRF refusals, role
// refusals, language and the switch for the public pages. TestConsoleInBrowser drives the
// same pages in Chromium.

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

type consoleClient struct {
	t *testing.T
	e *env
	c *http.Client
}

func newConsoleClient(e *env) *consoleClient {
	jar, _ := cookiejar.New(nil)
	return &consoleClient{t: e.t, e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (cc *consoleClient) do(method, path string, form url.Values, headers ...string) (*http.Response, string) {
	cc.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, cc.e.ts.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := cc.c.Do(req)
	if err != nil {
		cc.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, string(raw)
}

// csrf reads the form token of a page.
func (cc *consoleClient) csrf(path string) string {
	cc.t.Helper()
	_, page := cc.do(http.MethodGet, path, nil)
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		cc.t.Fatalf("%s has no CSRF field:\n%.500s", path, page)
	}
	return m[1]
}

func (cc *consoleClient) signIn(role api.Role) {
	cc.t.Helper()
	resp, page := cc.do(http.MethodPost, "/console/sign-in", url.Values{"csrf": {cc.csrf("/console/sign-in")}, "token": {cc.e.tokens[role]}})
	if resp.StatusCode != http.StatusSeeOther {
		cc.t.Fatalf("sign-in as %s: %d %.300s", role, resp.StatusCode, page)
	}
}

func TestConsoleOverHTTP(t *testing.T) {
	e := newEnv(t, nil)
	prop := e.createProperty("Hotel Riva")
	id, _ := e.register("gina@riva.example", prop)

	t.Run("every page carries a strict policy and a strict cookie", func(t *testing.T) {
		cc := newConsoleClient(e)
		resp, page := cc.do(http.MethodGet, "/console/sign-in", nil)
		csp := resp.Header.Get("Content-Security-Policy")
		if resp.StatusCode != http.StatusOK || !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "script-src 'self'") ||
			strings.Contains(csp, "unsafe") || !strings.Contains(csp, "frame-ancestors 'none'") || resp.Header.Get("X-Frame-Options") != "DENY" {
			t.Fatalf("%d, CSP %q, X-Frame-Options %q", resp.StatusCode, csp, resp.Header.Get("X-Frame-Options"))
		}
		ck := resp.Cookies()
		if len(ck) != 1 || !ck[0].HttpOnly || ck[0].SameSite != http.SameSiteStrictMode {
			t.Fatalf("cookies %+v", ck)
		}
		if !strings.Contains(page, `name="token"`) || strings.Contains(page, "<script>") || strings.Contains(page, "style=") {
			t.Fatalf("sign-in page: %.500s", page)
		}
	})

	t.Run("a form without its CSRF token is refused with a page, and signs nobody in", func(t *testing.T) {
		cc := newConsoleClient(e)
		cc.csrf("/console/sign-in")
		for _, tc := range []struct{ name, csrf string }{{"none", ""}, {"wrong", "forged-token"}} {
			resp, page := cc.do(http.MethodPost, "/console/sign-in", url.Values{"csrf": {tc.csrf}, "token": {e.tokens[api.RoleAdmin]}})
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(page, "Request refused") {
				t.Fatalf("%s: %d %.300s", tc.name, resp.StatusCode, page)
			}
		}
		if resp, _ := cc.do(http.MethodGet, "/console/accounts", nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("after refused sign-ins the console answers %d", resp.StatusCode)
		}
		// Signed in, an action without the token writes nothing either.
		cc.signIn(api.RoleAdmin)
		e.must(e.post("/v1/accounts/"+id+"/disable", api.RoleAdmin, map[string]string{"support_reference": "T-1"}), http.StatusOK)
		resp, _ := cc.do(http.MethodPost, "/console/accounts/"+id+"/actions/enable", url.Values{"support_reference": {"T-2"}})
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("enable without CSRF: %d", resp.StatusCode)
		}
		e.settled()
		if st := e.must(e.get("/v1/accounts/"+id+"/status", api.RoleAdmin), http.StatusOK); !strings.Contains(string(st.raw), "disabled_manually") {
			t.Fatalf("the refused form changed the account: %s", st.raw)
		}
		resp, _ = cc.do(http.MethodPost, "/console/accounts/"+id+"/actions/enable", url.Values{"support_reference": {"T-2"}, "csrf": {cc.csrf("/console/accounts/" + id + "/confirm/enable")}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("enable with its token: %d", resp.StatusCode)
		}
		if _, page := cc.do(http.MethodGet, resp.Header.Get("Location"), nil); !strings.Contains(page, "The account was enabled.") {
			t.Fatalf("the result is not shown: %.800s", page)
		}
	})

	t.Run("a token that is no role's, or the login service's, opens nothing", func(t *testing.T) {
		for _, tc := range []struct {
			token  string
			status int
		}{{"not-a-token-at-all-0000", http.StatusUnauthorized}, {e.tokens[api.RoleLoginService], http.StatusForbidden}} {
			cc := newConsoleClient(e)
			resp, _ := cc.do(http.MethodPost, "/console/sign-in", url.Values{"csrf": {cc.csrf("/console/sign-in")}, "token": {tc.token}})
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
		}
	})

	t.Run("what a role may not do is neither shown nor served", func(t *testing.T) {
		cases := []struct {
			role      api.Role
			path      string
			status    int
			shows     string
			hides     string
			hidesPath string
		}{
			{api.RoleAuditor, "/console/accounts/" + id, http.StatusForbidden, "Not authorised", "", ""},
			{api.RoleAuditor, "/console/compliance?property_id=" + prop, http.StatusOK, "dl-evidence", "/console/accounts", ""},
			{api.RoleSecurity, "/console/accounts/" + id, http.StatusOK, "History", "/confirm/unlock", ""},
			{api.RoleSecurity, "/console/accounts/" + id + "/confirm/unlock", http.StatusForbidden, "Not authorised", "", ""},
			{api.RoleSecurity, "/console/properties", http.StatusForbidden, "Not authorised", "", ""},
			{api.RoleAdmin, "/console/accounts/" + id, http.StatusOK, "/confirm/unlock", "History", ""},
			{api.RoleAdmin, "/console/what-if", http.StatusForbidden, "Not authorised", "", ""},
		}
		for _, tc := range cases {
			cc := newConsoleClient(e)
			cc.signIn(tc.role)
			resp, page := cc.do(http.MethodGet, tc.path, nil)
			if resp.StatusCode != tc.status || !strings.Contains(page, tc.shows) || (tc.hides != "" && strings.Contains(page, tc.hides)) {
				t.Errorf("%s %s: %d, shows %q: %v, hides %q: %v", tc.role, tc.path, resp.StatusCode, tc.shows, strings.Contains(page, tc.shows), tc.hides, !strings.Contains(page, tc.hides))
			}
		}
	})

	t.Run("the language follows Accept-Language and the remembered switch, which goes nowhere else", func(t *testing.T) {
		cc := newConsoleClient(e)
		if _, page := cc.do(http.MethodGet, "/console/sign-in", nil, "Accept-Language", "fr-CH, de;q=0.8"); !strings.Contains(page, `<html lang="fr">`) || !strings.Contains(page, "Connexion") {
			t.Fatalf("fr-CH: %.300s", page)
		}
		resp, _ := cc.do(http.MethodGet, "/console/lang?to=it&back="+url.QueryEscape("//evil.example/x"), nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/" {
			t.Fatalf("switch: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		if _, page := cc.do(http.MethodGet, "/console/sign-in", nil, "Accept-Language", "fr"); !strings.Contains(page, `<html lang="it">`) {
			t.Fatalf("the switch to Italian was not remembered: %.300s", page)
		}
	})

	t.Run("public pages", func(t *testing.T) {
		resp, page := newConsoleClient(e).do(http.MethodGet, "/activate?token=x", nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Activate your account") {
			t.Fatalf("on: %d %.300s", resp.StatusCode, page)
		}
		off := newEnv(t, nil, func(c *serve.Config) { c.DisablePublicPages = true })
		for _, p := range []string{"/activate?token=x", "/reset-password?token=x", "/unlock?token=x"} {
			resp, _ := newConsoleClient(off).do(http.MethodGet, p, nil)
			if resp.StatusCode != http.StatusNotFound || !strings.Contains(resp.Header.Get("Content-Type"), "json") {
				t.Errorf("off: %s answers %d %s, want the API's 404", p, resp.StatusCode, resp.Header.Get("Content-Type"))
			}
		}
		if resp, _ := newConsoleClient(off).do(http.MethodGet, "/console/sign-in", nil); resp.StatusCode != http.StatusOK {
			t.Errorf("the console is still on with the public pages off: %d", resp.StatusCode)
		}
	})
}
