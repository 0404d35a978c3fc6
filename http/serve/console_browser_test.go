package serve_test

import (
	"archive/zip"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"accountd/domain"
	"accountd/domain/messages"
	"accountd/eventstore/transparency"
	"accountd/http/api"
	"accountd/projections/evidence"
)

// The console and the public pages in a real headless Chromium (Debian's chromium, driven
// over the DevTools protocol by chromedp): one browser for the whole test, each role signing
// in through the form. Every page is checked for console errors, for requests to any host
// but the test server, and (when axe-core is at hand) for accessibility violations; each is
// screenshot in English and French.

// chromiumPath finds the browser: ACCOUNTD_CHROMIUM, else Debian's /usr/bin/chromium.
func chromiumPath() string {
	if p := os.Getenv("ACCOUNTD_CHROMIUM"); p != "" {
		return p
	}
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	return ""
}

// screenshotDir is where the pages' screenshots go: ACCOUNTD_SCREENSHOTS, else a directory
// of the system's temporary directory that outlives the test, so a person can look.
func screenshotDir(t *testing.T) string {
	dir := os.Getenv("ACCOUNTD_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "accountd-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// axeScript is axe-core's axe.min.js when ACCOUNTD_AXE_JS names it (.ci/run fetches it with
// npm pack into a cache); the product never loads it, only this test injects it.
func axeScript(t *testing.T) string {
	p := os.Getenv("ACCOUNTD_AXE_JS")
	if p == "" {
		t.Log("axe-core not run: ACCOUNTD_AXE_JS does not name axe.min.js")
		return ""
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("ACCOUNTD_AXE_JS: %v", err)
	}
	return string(b)
}

type browserRun struct {
	t      *testing.T
	e      *env
	ctx    context.Context
	host   string
	shots  string
	axe    string
	mu     sync.Mutex
	errs   []string
	dlDone chan string
}

func (b *browserRun) problem(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.errs = append(b.errs, fmt.Sprintf(format, args...))
}

// checkPage fails the test for what the listeners saw since the last page, and runs axe.
func (b *browserRun) checkPage(name string) { b.check(name, b.axe != "") }

// check is checkPage, with axe-core run on the page or not (a page's French twin has the
// same structure: it is checked for errors and requests only, which keeps the test short).
func (b *browserRun) check(name string, axe bool) {
	b.t.Helper()
	b.mu.Lock()
	errs := b.errs
	b.errs = nil
	b.mu.Unlock()
	for _, e := range errs {
		b.t.Errorf("%s: %s", name, e)
	}
	if !axe {
		return
	}
	type violation struct {
		ID     string   `json:"id"`
		Impact string   `json:"impact"`
		Tags   []string `json:"tags"`
		Help   string   `json:"help"`
		Nodes  []struct {
			Target []string `json:"target"`
		} `json:"nodes"`
	}
	run := `(async () => { if (!window.axe) { ` + b.axe + ` }
		const r = await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag21a', 'wcag2aa', 'wcag21aa']}});
		return {passes: r.passes.length, violations: r.violations.map(v => ({id: v.id, impact: v.impact, tags: v.tags, help: v.help, nodes: v.nodes.map(n => ({target: n.target}))}))}; })()`
	type report struct {
		Passes     int         `json:"passes"`
		Violations []violation `json:"violations"`
	}
	rep, err := chromedp.Run(b.ctx, chromedp.Evaluate[report](run, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("%s: axe: %v", name, err)
	}
	if rep.Passes == 0 {
		b.t.Errorf("%s: axe checked nothing", name)
	}
	violations := rep.Violations
	for _, v := range violations {
		b.t.Errorf("%s: accessibility: %s (%s, %v): %s at %v", name, v.ID, v.Impact, v.Tags, v.Help, v.Nodes)
	}
}

// shot screenshots the page as name-lang.png.
func (b *browserRun) shot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// viewShot screenshots what the window shows, from the top: the README's pictures.
func (b *browserRun) viewShot(name string) {
	b.t.Helper()
	b.run(chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	png := get(b, chromedp.CaptureScreenshot())
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// page opens a path, checks it and screenshots it in English and in French (through the
// language switch, which is then switched back).
func (b *browserRun) page(name, path string, check func()) {
	b.t.Helper()
	b.run(chromedp.Navigate(b.e.ts.URL + path))
	if check != nil {
		check()
	}
	b.checkPage(name)
	b.shot(name + "-en")
	b.run(chromedp.Click(chromedp.CSS(`a[hreflang="fr"]`)), chromedp.WaitVisible(chromedp.CSS(`html[lang="fr"]`)))
	b.check(name+" (fr)", false)
	b.shot(name + "-fr")
	b.run(chromedp.Click(chromedp.CSS(`a[hreflang="en"]`)), chromedp.WaitVisible(chromedp.CSS(`html[lang="en"]`)))
}

func (b *browserRun) run(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		if png, serr := chromedp.Run(b.ctx, chromedp.CaptureScreenshot()); serr == nil {
			_ = os.WriteFile(filepath.Join(b.shots, "failure.png"), png, 0o644)
		}
		b.t.Fatal(err)
	}
}

func get[T any](b *browserRun, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatal(err)
	}
	return v
}

func (b *browserRun) text(sel string) string {
	b.t.Helper()
	// Read in the page, not through DOM node IDs, which a page that just loaded replaces.
	return strings.TrimSpace(get(b, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q) || {innerText: ""}).innerText`, sel))))
}

func (b *browserRun) class(sel string) string {
	b.t.Helper()
	return get(b, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q).className`, sel)))
}

func (b *browserRun) signIn(role api.Role) {
	b.t.Helper()
	b.run(chromedp.Navigate(b.e.ts.URL+"/console/sign-in"),
		chromedp.WaitVisible(chromedp.CSS(`#token`)),
		chromedp.SendKeys(chromedp.CSS(`#token`), b.e.tokens[role]),
		chromedp.Submit(chromedp.CSS(`#token`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/console/sign-out"]`)))
}

// mailURL waits for the next mail of kind to address and returns the link in it, whole.
func (m *mailbox) mailURL(to, kind string) string {
	m.t.Helper()
	mail := m.next(to, kind)
	raw := linkPattern.FindString(mail.body)
	if raw == "" {
		m.t.Fatalf("mail %s has no link:\n%s", mail.file, mail.body)
	}
	return raw
}

func TestConsoleInBrowser(t *testing.T) {
	path := chromiumPath()
	if path == "" {
		t.Skip("no Chromium: install Debian's chromium (apt-get install chromium) or set ACCOUNTD_CHROMIUM")
	}
	e := newEnv(t, nil)
	u, _ := url.Parse(e.ts.URL)

	// The story: Anna of Hôtel du Lac locks her account with six wrong passwords.
	prop := e.createProperty("Hotel du Lac")
	anna, _ := e.register("anna@hotel-lac.example", prop)
	e.must(e.post("/v1/activations", api.RoleLoginService, map[string]string{"token": e.mail.link("anna@hotel-lac.example", "activation")}), http.StatusOK)
	e.clock.Advance(time.Minute)
	for range 6 {
		e.login("anna@hotel-lac.example", "wrong password")
		e.clock.Advance(2 * time.Second)
	}
	// Bruno's password is used from two devices at once: the detector disables his account.
	bruno, _ := e.register("bruno@hotel-lac.example", prop)
	e.must(e.post("/v1/activations", api.RoleLoginService, map[string]string{"token": e.mail.link("bruno@hotel-lac.example", "activation")}), http.StatusOK)
	e.login("bruno@hotel-lac.example", goodPassword, "device_id", "front-desk", "ip", "203.0.113.7")
	e.clock.Advance(30 * time.Second)
	e.login("bruno@hotel-lac.example", goodPassword, "device_id", "phone", "ip", "198.51.100.23")
	e.settled()
	_ = bruno

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1200, 900))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	b := &browserRun{t: t, e: e, host: u.Host, shots: screenshotDir(t), axe: axeScript(t), dlDone: make(chan string, 1)}
	listen := func(ev any) {
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			ru, err := url.Parse(ev.Request.URL)
			if err != nil || (ru.Scheme != "data" && ru.Host != b.host) {
				b.problem("request to another host: %s", ev.Request.URL)
			}
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				b.problem("console %s: %s", ev.Type, strings.Join(args, " "))
			}
		case *runtime.EventExceptionThrown:
			b.problem("exception: %s %s", ev.ExceptionDetails.Text, ev.ExceptionDetails.URL)
		case *log.EventEntryAdded:
			// A 4xx answer the test asks for is logged by the browser as an error; the
			// rest (CSP violations above all) are problems.
			if ev.Entry.Level == log.EntryLevelError && !strings.Contains(ev.Entry.Text, "responded with a status of 4") {
				b.problem("browser log: %s %s", ev.Entry.Text, ev.Entry.URL)
			}
		}
	}
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithListener(listen))
	defer cancel()
	b.ctx = ctx
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	t.Log("browser started")
	if err := chromedp.ListenBrowser(ctx, func(ev any) {
		if ev, ok := ev.(*browser.EventDownloadProgress); ok && ev.State == browser.DownloadProgressStateCompleted {
			b.dlDone <- ev.GUID
		}
	}); err != nil {
		t.Fatal(err)
	}
	downloads := t.TempDir()
	b.run(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		if _, err := chromedp.Call(ctx, log.Enable, cdp.Empty{}); err != nil {
			return err
		}
		_, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: downloads, EventsEnabled: new(true)})
		return err
	}))

	b.run(chromedp.Navigate(e.ts.URL + "/console/"))
	b.checkPage("sign-in")
	b.page("sign-in", "/console/sign-in", nil)
	t.Run("the keyboard reaches every control", func(t *testing.T) {
		b.t = t
		b.run(chromedp.Navigate(e.ts.URL + "/console/sign-in"))
		reached := map[string]bool{}
		for range 8 {
			b.run(chromedp.KeyEvent(kb.Tab))
			reached[get(b, chromedp.Evaluate[string](`(e => e.id || e.getAttribute("hreflang") || e.className || e.tagName)(document.activeElement)`))] = true
		}
		for _, want := range []string{"skip", "fr", "token", "BUTTON"} {
			if !reached[want] {
				t.Errorf("Tab never reached %s: %v", want, reached)
			}
		}
	})
	b.t = t

	_, lockFix := messages.Reason(domain.ReasonAccountLocked, messages.English, domain.DisclosureSpecific)
	t.Run("security finds the locked account, its history and its state before the lock", func(t *testing.T) {
		b.t = t
		b.signIn(api.RoleSecurity)
		b.page("overview", "/console/overview", func() {
			if n := b.count(`figure.chart`); n < 2 {
				t.Errorf("overview: %d charts", n)
			}
		})
		b.page("accounts", "/console/accounts?q="+url.QueryEscape("anna@hotel-lac.example"), func() {
			if got := b.text(`tbody tr`); !strings.Contains(got, "account_locked") {
				t.Errorf("search row: %q", got)
			}
		})
		b.run(chromedp.Click(chromedp.CSS(`tbody a`)), chromedp.WaitVisible(chromedp.CSS(`#status`)))
		if st := b.text(`#status`); st != "locked" {
			t.Errorf("status %q, want locked", st)
		}
		if got := b.text(`li.reason[data-code="account_locked"]`); !strings.Contains(got, lockFix) {
			t.Errorf("reason %q lacks its remediation %q", got, lockFix)
		}
		if b.count(`a[href$="/confirm/unlock"]`) != 0 {
			t.Error("the security role is shown the unlock action, which it may not take")
		}
		b.checkPage("account")
		b.shot("account-security-en")
		// The history shows the lock; its "state just before" link shows the five failures.
		lock := fmt.Sprintf(`//ol[@id="history"]/li[.//strong[text()="%s"]]//a[contains(@class,"before")]`, "account_locked.v1")
		b.run(chromedp.Click(chromedp.Search(lock)), chromedp.WaitVisible(chromedp.CSS(`#state-status`)))
		if st := b.text(`#state-status`); st != "active" {
			t.Errorf("state before the lock %q, want active", st)
		}
		if got := b.text(`#state dl`); !strings.Contains(got, "5") {
			t.Errorf("state before the lock: %q, want 5 failed attempts", got)
		}
		b.checkPage("account state")
		b.shot("account-state-en")
		b.viewShot("readme-account-en")
		at := get(b, chromedp.Evaluate[string](`document.getElementById("at").value`))
		b.page("account-state", "/console/accounts/"+anna+"?at="+url.QueryEscape(at), func() {
			if st := b.text(`#state-status`); st != "active" {
				t.Errorf("the state at %s, opened by its address: %q", at, st)
			}
		})
		b.page("suspicious-activity", "/console/suspicious-activity", func() {
			if n := b.count(`ol.timeline li`); n == 0 {
				t.Error("no detection on the suspicious-activity page")
			}
		})
		b.page("what-if", "/console/what-if", nil)
		b.run(chromedp.SetValue(chromedp.CSS(`#lockout_threshold`), "10"), chromedp.Submit(chromedp.CSS(`#lockout_threshold`)),
			chromedp.WaitVisible(chromedp.CSS(`figure.chart`)))
		b.checkPage("what-if result")
		b.shot("what-if-result-en")
		// A page the role may not open (properties are the administrator's).
		b.run(chromedp.Navigate(e.ts.URL + "/console/properties/" + prop))
		if h := b.text(`h1`); h != "Not authorised" {
			t.Errorf("security on a property page: %q", h)
		}
		b.checkPage("forbidden")
	})

	t.Run("admin unlocks it, but not without the form's CSRF token", func(t *testing.T) {
		b.t = t
		b.signIn(api.RoleAdmin)
		b.page("account-admin", "/console/accounts/"+anna, nil)
		b.run(chromedp.Click(chromedp.CSS(`a[href$="/confirm/unlock"]`)), chromedp.WaitVisible(chromedp.CSS(`#support_reference`)))
		b.checkPage("confirm")
		b.shot("confirm-en")
		// The same form without its token is refused, and nothing is written.
		b.run(chromedp.SendKeys(chromedp.CSS(`#support_reference`), "TICKET-42"),
			chromedp.Evaluate[chromedp.Void](`document.querySelector('form[action*="/actions/"] input[name="csrf"]').remove()`),
			chromedp.Click(chromedp.CSS(`#confirm`)), chromedp.WaitVisible(chromedp.CSS(`p[role="alert"]`)))
		if h := b.text(`h1`); h != "Request refused" {
			t.Errorf("without a CSRF token: %q", h)
		}
		b.checkPage("csrf refused")
		if st := e.must(e.get("/v1/accounts/"+anna+"/status", api.RoleAdmin), http.StatusOK).str("status"); st != "locked" {
			t.Fatalf("after a refused form the account is %s", st)
		}
		b.run(chromedp.Navigate(e.ts.URL+"/console/accounts/"+anna+"/confirm/unlock"),
			chromedp.SendKeys(chromedp.CSS(`#support_reference`), "TICKET-42"),
			chromedp.Click(chromedp.CSS(`#confirm`)), chromedp.WaitVisible(chromedp.CSS(`#status`)))
		if st, flash := b.text(`#status`), b.text(`.flash`); st != "active" || flash != "The account was unlocked." {
			t.Errorf("after unlocking: status %q, message %q", st, flash)
		}
		b.checkPage("unlocked")
		b.shot("unlocked-en")
		b.page("properties", "/console/properties", nil)
		b.page("property", "/console/properties/"+prop, func() {
			if got := b.text(`table`); !strings.Contains(got, "anna@hotel-lac.example") {
				t.Errorf("property members: %q", got)
			}
		})
	})

	t.Run("auditor downloads an evidence bundle that verifies, and verifies the log", func(t *testing.T) {
		b.t = t
		b.signIn(api.RoleAuditor)
		from := e.clock.Now().Add(-time.Hour).UTC().Format("2006-01-02T15:04:05")
		to := e.clock.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04:05")
		b.page("compliance", "/console/compliance?"+url.Values{"property_id": {prop}, "from": {from}, "to": {to}}.Encode(), nil)
		b.run(chromedp.Click(chromedp.CSS(`#dl-evidence`)))
		var guid string
		select {
		case guid = <-b.dlDone:
		case <-time.After(30 * time.Second):
			t.Fatal("the evidence bundle did not download")
		}
		file := filepath.Join(downloads, guid)
		key, err := transparency.LoadSigningKey(filepath.Join(e.data, "keys", transparency.SigningKeyFile))
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		info, _ := f.Stat()
		if _, err := zip.NewReader(f, info.Size()); err != nil {
			t.Fatalf("the download is not a zip: %v", err)
		}
		v, err := evidence.Verify(context.Background(), f, info.Size(), evidence.VerifyOptions{VerifierKey: key.VerifierKey, Scratch: t.TempDir()})
		if err != nil || v.Rows[evidence.FileAccessCSV] == 0 {
			t.Fatalf("the downloaded bundle: %+v, %v", v, err)
		}
		b.run(chromedp.Click(chromedp.CSS(`#verify`)), chromedp.WaitVisible(chromedp.CSS(`.flash`)))
		if got := b.text(`.flash`); !strings.HasPrefix(got, "The log verifies") {
			t.Errorf("verify the log: %q", got)
		}
		b.checkPage("verified")
		b.shot("verified-en")
		b.run(chromedp.Navigate(e.ts.URL + "/console/accounts/" + anna))
		if h := b.text(`h1`); h != "Not authorised" {
			t.Errorf("auditor on an account page: %q", h)
		}
		b.run(chromedp.Click(chromedp.CSS(`form[action="/console/sign-out"] button`)), chromedp.WaitVisible(chromedp.CSS(`#token`)))
		b.run(chromedp.Navigate(e.ts.URL + "/console/compliance"))
		if b.count(`#token`) != 1 {
			t.Error("after signing out, the compliance page does not ask to sign in")
		}
	})

	t.Run("the mailed links open their pages", func(t *testing.T) {
		b.t = t
		e.register("carla@hotel-lac.example", prop)
		link := e.mail.mailURL("carla@hotel-lac.example", "activation")
		if !strings.HasPrefix(link, e.ts.URL+"/activate?token=") {
			t.Fatalf("activation link %q", link)
		}
		lu, _ := url.Parse(link)
		b.page("activate", lu.RequestURI(), nil)
		b.run(chromedp.Navigate(link), chromedp.Click(chromedp.CSS(`#link-form button`)), chromedp.WaitVisible(chromedp.CSS(`.flash`)))
		if got := b.text(`.flash`); got != "Your account is activated. You can sign in." {
			t.Errorf("activation: %q", got)
		}
		b.checkPage("activated")

		// Two reset requests: the first link is superseded, the second sets the password.
		for range 2 {
			e.must(e.post("/v1/password-reset-requests", api.RoleLoginService, map[string]string{"email": "carla@hotel-lac.example"}), http.StatusAccepted)
		}
		first, second := e.mail.mailURL("carla@hotel-lac.example", "password_reset"), e.mail.mailURL("carla@hotel-lac.example", "password_reset")
		su, _ := url.Parse(second)
		b.page("reset-password", su.RequestURI(), nil)
		b.run(chromedp.Navigate(second), chromedp.SendKeys(chromedp.CSS(`#new_password`), "short"))
		if class := b.class(`li[data-rule="length"]`); !strings.Contains(class, "broken") {
			t.Errorf("a short password: the length rule is %q, want broken as the user types", class)
		}
		b.shot("reset-password-typing-en")
		b.run(chromedp.Click(chromedp.CSS(`a[hreflang="fr"]`)), chromedp.WaitVisible(chromedp.CSS(`html[lang="fr"]`)),
			chromedp.SendKeys(chromedp.CSS(`#new_password`), "Un lac au matin 2027"), chromedp.SendKeys(chromedp.CSS(`#confirm_password`), "Un lac"))
		b.viewShot("readme-reset-fr")
		b.run(chromedp.Click(chromedp.CSS(`a[hreflang="en"]`)), chromedp.WaitVisible(chromedp.CSS(`html[lang="en"]`)))
		b.run(chromedp.Evaluate[chromedp.Void](`document.getElementById("new_password").value = ""`), chromedp.SendKeys(chromedp.CSS(`#new_password`), "A new lake view 2027"),
			chromedp.SendKeys(chromedp.CSS(`#confirm_password`), "A new lake view 2027"))
		if class := b.class(`li[data-rule="length"]`); !strings.Contains(class, "met") {
			t.Errorf("a long enough password: the length rule is %q", class)
		}
		b.run(chromedp.Click(chromedp.CSS(`#link-form button`)), chromedp.WaitVisible(chromedp.CSS(`.flash`)))
		if got := b.text(`.flash`); got != "Your password is changed. You can sign in with it." {
			t.Errorf("reset: %q", got)
		}
		b.checkPage("password reset")
		e.login("carla@hotel-lac.example", "A new lake view 2027")
		superseded, _ := messages.ErrorMessage(domain.CodeLinkSuperseded, messages.French)
		b.run(chromedp.Navigate(first+"&lang=fr"), chromedp.SendKeys(chromedp.CSS(`#new_password`), "Another lake view 2028"),
			chromedp.SendKeys(chromedp.CSS(`#confirm_password`), "Another lake view 2028"),
			chromedp.Click(chromedp.CSS(`#link-form button`)), chromedp.WaitVisible(chromedp.CSS(`.flash`)))
		if got := b.text(`.flash`); got != superseded {
			t.Errorf("a superseded link: %q, want %q", got, superseded)
		}
		b.checkPage("superseded")
		b.shot("superseded-fr")
	})
	t.Logf("screenshots in %s", b.shots)
}

func (b *browserRun) count(sel string) int {
	b.t.Helper()
	return get(b, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
}
