package console

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"accountd/http/api"
	"accountd/projections/history"
)

// The other console pages: suspicious activity, properties, compliance, what-if, overview.

func (c *Console) suspicious(w http.ResponseWriter, r *http.Request, s *session, p *page) {
	if !p.May("security.timeline") {
		c.forbidden(w, p)
		return
	}
	p.Title = p.T("nav_suspicious")
	q := r.URL.Query()
	f := map[string]any{}
	v := url.Values{"limit": {"50"}}
	for _, k := range []string{"property_id", "account_id", "ip", "cursor"} {
		if x := strings.TrimSpace(q.Get(k)); x != "" {
			v.Set(k, x)
			f[k] = x
		}
	}
	for _, k := range []string{"since", "until"} {
		if x := strings.TrimSpace(q.Get(k)); x != "" {
			f[k] = x
			if t, ok := parseLocal(x); ok {
				v.Set(k, t.Format(time.RFC3339))
			}
		}
	}
	rule := strings.TrimSpace(q.Get("rule"))
	f["rule"] = rule
	res := c.call(r, s, p.Lang, http.MethodGet, "/v1/suspicious-activity?"+v.Encode(), nil)
	p.Data = map[string]any{"F": f}
	if !res.ok() {
		p.Error = res.errorMessage()
		c.render(w, res.status, "suspicious", p)
		return
	}
	var entries []any
	rules := map[string]bool{}
	for _, e := range asList(res.body["entries"]) {
		name, _ := asObj(e)["rule"].(string)
		rules[name] = true
		// The API filters by property, account, address and time; the rule is this page's filter.
		if rule == "" || name == rule {
			entries = append(entries, e)
		}
	}
	var names []string
	for n := range rules {
		names = append(names, n)
	}
	sort.Strings(names)
	p.Data["Entries"] = entries
	p.Data["Rules"] = names
	p.Data["Next"] = res.body["next_cursor"]
	c.render(w, http.StatusOK, "suspicious", p)
}

func (c *Console) properties(w http.ResponseWriter, r *http.Request, s *session, p *page) {
	if !p.May("properties.find") {
		c.forbidden(w, p)
		return
	}
	p.Title = p.T("nav_properties")
	name := strings.TrimSpace(r.URL.Query().Get("name"))
	res := c.call(r, s, p.Lang, http.MethodGet, "/v1/properties?"+url.Values{"name": {name}, "limit": {"100"}}.Encode(), nil)
	p.Data = map[string]any{"Name": name}
	if !res.ok() {
		p.Error = res.errorMessage()
	} else {
		p.Data["Properties"] = res.body["properties"]
	}
	c.render(w, http.StatusOK, "properties", p)
}

func (c *Console) property(w http.ResponseWriter, r *http.Request, s *session, p *page) {
	if !p.May("properties.get") {
		c.forbidden(w, p)
		return
	}
	id := r.PathValue("id")
	p.Title = p.T("property")
	res := c.call(r, s, p.Lang, http.MethodGet, "/v1/properties/"+url.PathEscape(id), nil)
	if !res.ok() {
		p.Error = res.errorMessage()
		c.render(w, res.status, "property", p)
		return
	}
	p.Data = map[string]any{"P": res.body}
	if n, _ := res.body["name"].(string); n != "" {
		p.Title = n
	}
	members := c.call(r, s, p.Lang, http.MethodGet, "/v1/properties/"+url.PathEscape(id)+"/members?limit=100", nil)
	if members.ok() {
		p.Data["Members"] = members.body["members"]
	}
	c.render(w, http.StatusOK, "property", p)
}

// period reads the compliance page's property and period (default: the last 30 days).
func (c *Console) period(r *http.Request) (prop, from, to string, fromT, toT time.Time) {
	q := r.URL.Query()
	now := c.cfg.Clock().UTC().Truncate(time.Minute)
	fromT, toT = now.AddDate(0, 0, -30), now.Add(time.Minute)
	if t, ok := parseLocal(q.Get("from")); ok {
		fromT = t
	}
	if t, ok := parseLocal(q.Get("to")); ok {
		toT = t
	}
	return strings.TrimSpace(q.Get("property_id")), localValue(fromT), localValue(toT), fromT, toT
}

func (c *Console) compliance(w http.ResponseWriter, r *http.Request, s *session, p *page) {
	if !p.May("compliance.checkpoint") && !p.May("compliance.password_rotation") {
		c.forbidden(w, p)
		return
	}
	p.Title = p.T("nav_compliance")
	prop, from, to, fromT, toT := c.period(r)
	p.Data = map[string]any{"PropertyID": prop, "From": from, "To": to}
	if p.May("compliance.checkpoint") {
		cp := c.call(r, s, p.Lang, http.MethodGet, "/v1/compliance/checkpoint", nil)
		if cp.ok() {
			p.Data["Checkpoint"] = string(cp.raw)
		} else {
			p.Data["CheckpointError"] = cp.errorMessage()
		}
	}
	if prop != "" && p.May("compliance.password_rotation") {
		rot := c.call(r, s, p.Lang, http.MethodGet, "/v1/compliance/password-rotation?"+reportParams(prop, fromT, toT, "").Encode(), nil)
		if rot.ok() {
			p.Data["Rotation"] = rot.body["rows"]
		} else {
			p.Error = rot.errorMessage()
		}
	}
	c.render(w, http.StatusOK, "compliance", p)
}

func reportParams(prop string, from, to time.Time, format string) url.Values {
	v := url.Values{"from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}}
	if prop != "" {
		v.Set("property_id", prop)
	}
	if format != "" {
		v.Set("format", format)
	}
	return v
}

// download passes a report or an evidence bundle from the API straight to the browser.
func (c *Console) download(w http.ResponseWriter, r *http.Request, s *session, p *page) {
	prop, _, _, fromT, toT := c.period(r)
	var route, path, file string
	switch r.PathValue("kind") {
	case "rotation":
		route, path, file = "compliance.password_rotation", "/v1/compliance/password-rotation?"+reportParams(prop, fromT, toT, "csv").Encode(), "password-rotation.csv"
	case "access-log":
		route, path, file = "compliance.access_log", "/v1/compliance/access-log?"+reportParams(prop, fromT, toT, "csv").Encode(), "access-log.csv"
	case "evidence":
		route, path, file = "compliance.evidence", "/v1/compliance/evidence?"+reportParams(prop, fromT, toT, "").Encode(), "evidence.zip"
	default:
		c.notFound(w, r)
		return
	}
	if !p.May(route) {
		c.forbidden(w, p)
		return
	}
	res := c.call(r, s, p.Lang, http.MethodGet, path, nil)
	if !res.ok() {
		p.Title = p.T("nav_compliance")
		p.Error = res.errorMessage()
		c.render(w, res.status, "error", p)
		return
	}
	for _, h := range []string{"Content-Type", "X-Log-Position"} {
		if v := res.header.Get(h); v != "" {
			w.Header().Set(h, v)
		}
	}
	w.Header().Set("Content-Disposition", `attachment; filename="`+file+`"`)
	w.Header().Set("Content-Length", strconv.Itoa(len(res.raw)))
	_, _ = w.Write(res.raw)
}

func (c *Console) verifyLog(w http.ResponseWriter, r *http.Request, s *session, p *page) {
	if !p.May("compliance.chain_head") {
		c.forbidden(w, p)
		return
	}
	res := c.call(r, s, p.Lang, http.MethodGet, "/v1/compliance/chain-head?verify=true", nil)
	if res.ok() && res.body["verified"] == true {
		c.setFlash(s, p.Tf("verified", res.body["events"], res.body["position"], res.body["hash"]), true)
	} else {
		c.setFlash(s, p.T("verify_failed")+" "+res.errorMessage(), false)
	}
	back := "/console/compliance"
	// Back to the same property and period (only those parameters, re-encoded).
	if q, err := url.ParseQuery(r.PostFormValue("back")); err == nil {
		v := url.Values{}
		for _, k := range []string{"property_id", "from", "to"} {
			if x := q.Get(k); x != "" {
				v.Set(k, x)
			}
		}
		if len(v) > 0 {
			back += "?" + v.Encode()
		}
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

func (c *Console) whatIf(w http.ResponseWriter, r *http.Request, s *session, p *page) {
	if !p.May("security.what_if") {
		c.forbidden(w, p)
		return
	}
	p.Title = p.T("nav_whatif")
	now := c.cfg.Clock().UTC().Truncate(time.Minute)
	from, to := now.AddDate(0, 0, -30), now.Add(time.Minute)
	if t, ok := parseLocal(r.FormValue("from")); ok {
		from = t
	}
	if t, ok := parseLocal(r.FormValue("to")); ok {
		to = t
	}
	threshold := strings.TrimSpace(r.FormValue("lockout_threshold"))
	prop := strings.TrimSpace(r.FormValue("property_id"))
	maxAge := strings.TrimSpace(r.FormValue("password_max_age"))
	duration := strings.TrimSpace(r.FormValue("lockout_duration"))
	p.Data = map[string]any{"From": localValue(from), "To": localValue(to), "Threshold": threshold, "PropertyID": prop,
		"MaxAge": maxAge, "Duration": duration, "Current": c.cfg.Policy()}
	if r.Method != http.MethodPost {
		c.render(w, http.StatusOK, "what-if", p)
		return
	}
	policy := map[string]any{}
	if threshold != "" {
		n, err := strconv.Atoi(threshold)
		if err != nil {
			p.Error = p.T("threshold_invalid")
			c.render(w, http.StatusBadRequest, "what-if", p)
			return
		}
		policy["lockout_threshold"] = n
	}
	// Durations go as the policy file writes them ("90d", "30m"); the API judges them.
	if maxAge != "" {
		policy["password_max_age"] = maxAge
	}
	if duration != "" {
		policy["lockout_duration"] = duration
	}
	body := map[string]any{"policy": policy, "from": from.Format(time.RFC3339), "to": to.Format(time.RFC3339)}
	if prop != "" {
		body["property_id"] = prop
	}
	res := c.call(r, s, p.Lang, http.MethodPost, "/v1/what-if", body)
	if !res.ok() {
		p.Error = res.errorMessage()
		c.render(w, res.status, "what-if", p)
		return
	}
	p.Data["Report"] = res.body
	var earlier, later, same int
	for _, a := range asList(res.body["accounts"]) {
		switch asObj(a)["outcome"] {
		case history.OutcomeLockedEarlier, history.OutcomeNewlyLocked, history.OutcomeMoreLocks:
			earlier++
		case history.OutcomeLockedLater, history.OutcomeNeverLocked, history.OutcomeFewerLocks:
			later++
		default:
			same++
		}
	}
	p.Data["Chart"] = barChart(p.T("whatif_chart"), []string{p.T("whatif_earlier"), p.T("whatif_later"), p.T("whatif_same")}, []int{earlier, later, same})
	c.render(w, http.StatusOK, "what-if", p)
}

// overview: 30 days of detections and suspensions (the detection timeline) and, for a role
// that may read the access log, failed sign-ins and lockouts, per day.
func (c *Console) overview(w http.ResponseWriter, r *http.Request, s *session, p *page) {
	if !p.May("security.timeline") {
		c.forbidden(w, p)
		return
	}
	p.Title = p.T("nav_overview")
	prop := strings.TrimSpace(r.URL.Query().Get("property_id"))
	end := c.cfg.Clock().UTC().Truncate(24*time.Hour).AddDate(0, 0, 1)
	start := end.AddDate(0, 0, -30)
	days := make([]string, 30)
	for i := range days {
		days[i] = start.AddDate(0, 0, i).Format("01-02")
	}
	day := func(at any) int {
		t, err := time.Parse(time.RFC3339Nano, asString(at))
		if err != nil || t.Before(start) || !t.Before(end) {
			return -1
		}
		return int(t.Sub(start) / (24 * time.Hour))
	}
	detections, suspensions := make([]int, 30), make([]int, 30)
	v := url.Values{"limit": {"200"}, "since": {start.Format(time.RFC3339)}}
	if prop != "" {
		v.Set("property_id", prop)
	}
	for pages := 0; pages < 20; pages++ {
		res := c.call(r, s, p.Lang, http.MethodGet, "/v1/suspicious-activity?"+v.Encode(), nil)
		if !res.ok() {
			p.Error = res.errorMessage()
			break
		}
		for _, e := range asList(res.body["entries"]) {
			if d := day(asObj(e)["at"]); d >= 0 {
				detections[d]++
				if asObj(e)["action"] == "account_disabled" {
					suspensions[d]++
				}
			}
		}
		next := asString(res.body["next_cursor"])
		if next == "" {
			break
		}
		v.Set("cursor", next)
	}
	charts := []any{barChart(p.T("chart_detections"), days, detections), barChart(p.T("chart_suspensions"), days, suspensions)}
	if p.May("compliance.access_log") {
		failed, locks := make([]int, 30), make([]int, 30)
		res := c.call(r, s, p.Lang, http.MethodGet, "/v1/compliance/access-log?"+reportParams(prop, start, end, "").Encode(), nil)
		if res.ok() {
			for _, row := range asList(res.body["rows"]) {
				o := asObj(row)
				d := day(o["at"])
				if d < 0 {
					continue
				}
				ev := asString(o["event"])
				switch {
				case strings.HasPrefix(ev, "login_failed."):
					failed[d]++
				case strings.HasPrefix(ev, "account_locked."):
					locks[d]++
				}
			}
			charts = append([]any{barChart(p.T("chart_failed"), days, failed), barChart(p.T("chart_lockouts"), days, locks)}, charts...)
		}
	} else {
		p.Notes = append(p.Notes, p.T("overview_auditor"))
	}
	p.Data = map[string]any{"Charts": charts, "PropertyID": prop}
	c.render(w, http.StatusOK, "overview", p)
}

func asString(v any) string { s, _ := v.(string); return s }

// linkPage and linkSubmit are the public pages of the mailed links.
var linkRoutes = map[string]string{"activate": "/v1/activations", "unlock": "/v1/unlocks", "reset": "/v1/password-resets"}

func (c *Console) linkPage(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p := c.newPage(w, r, nil, "")
		if q := r.URL.Query().Get("lang"); q == p.Lang.String() {
			// The switch is remembered, as the console's is.
			http.SetCookie(w, &http.Cookie{Name: langCookie, Value: q, Path: "/", MaxAge: 365 * 24 * 3600, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
		}
		c.fillLinkPage(p, kind, r.URL.Query().Get("token"))
		c.render(w, http.StatusOK, "link", p)
	}
}

func (c *Console) fillLinkPage(p *page, kind, token string) {
	p.Public = true
	p.Title = p.T("link_" + kind)
	pol := c.cfg.Policy()
	p.Data = map[string]any{"Kind": kind, "Token": token, "Min": pol.PasswordMinLength, "Max": pol.PasswordMaxLength, "History": pol.PasswordHistoryDepth}
	for i := range p.Langs {
		p.Langs[i].Href = "?" + url.Values{"token": {token}, "lang": {p.Langs[i].Code}}.Encode()
	}
	if token == "" {
		p.Error = p.T("link_missing")
	}
}

func (c *Console) linkSubmit(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !c.checkCSRF(w, r, c.sid(w, r)) {
			return
		}
		p := c.newPage(w, r, nil, "")
		token := r.PostFormValue("token")
		c.fillLinkPage(p, kind, token)
		body := map[string]any{"token": token}
		if kind == "reset" {
			pw := r.PostFormValue("new_password")
			if pw != r.PostFormValue("confirm_password") {
				p.Error = p.T("password_mismatch")
				c.render(w, http.StatusBadRequest, "link", p)
				return
			}
			body["new_password"] = pw
		}
		res := c.callAs(r, p.Lang, http.MethodPost, linkRoutes[kind], body, api.RoleLoginService)
		if !res.ok() {
			p.Error = res.errorMessage()
			p.Data["Violations"] = res.violations()
			if code := res.errorCode(); strings.HasPrefix(code, "link_") {
				p.Data["Dead"] = true
			}
			c.render(w, res.status, "link", p)
			return
		}
		p.Data["Done"] = true
		p.Flash, p.FlashOK = p.T("link_done_"+kind), true
		c.render(w, http.StatusOK, "link", p)
	}
}
