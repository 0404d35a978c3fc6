package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// The accounts: search by e-mail, ID or property, and one account's page with its reasons,
// the actions the role may take, its history and its state at an instant.

func (c *Console) accounts(w http.ResponseWriter, r *http.Request, s *session, p *page) {
	if !p.May("accounts.status") {
		c.forbidden(w, p)
		return
	}
	p.Title = p.T("nav_accounts")
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	prop := strings.TrimSpace(r.URL.Query().Get("property_id"))
	p.Data = map[string]any{"Q": q, "PropertyID": prop}
	var rows []any
	switch {
	case q != "" && strings.Contains(q, "@"):
		res := c.call(r, s, p.Lang, http.MethodGet, "/v1/accounts/status?"+url.Values{"email": {q}}.Encode(), nil)
		if res.ok() {
			rows = append(rows, res.body)
		} else {
			p.Error = res.errorMessage()
		}
	case q != "":
		if _, err := uuid.Parse(q); err != nil {
			p.Error = p.T("search_invalid")
			break
		}
		res := c.call(r, s, p.Lang, http.MethodGet, "/v1/accounts/"+url.PathEscape(q)+"/status", nil)
		if res.ok() {
			rows = append(rows, res.body)
		} else {
			p.Error = res.errorMessage()
		}
	case prop != "" && p.May("properties.members_list"):
		res := c.call(r, s, p.Lang, http.MethodGet, "/v1/properties/"+url.PathEscape(prop)+"/members?limit=100", nil)
		if !res.ok() {
			p.Error = res.errorMessage()
			break
		}
		for _, m := range asList(res.body["members"]) {
			id, _ := asObj(m)["account_id"].(string)
			st := c.call(r, s, p.Lang, http.MethodGet, "/v1/accounts/"+url.PathEscape(id)+"/status", nil)
			if st.ok() {
				rows = append(rows, st.body)
			}
		}
		if next, _ := res.body["next_cursor"].(string); next != "" {
			p.Notes = append(p.Notes, p.T("first_100"))
		}
	}
	p.Data["Rows"] = rows
	p.Data["Searched"] = q != "" || prop != ""
	c.render(w, http.StatusOK, "accounts", p)
}

func asList(v any) []any { l, _ := v.([]any); return l }

func asObj(v any) map[string]any { m, _ := v.(map[string]any); return m }

// datetime-local inputs give minutes or seconds, without a zone: the console reads them as UTC.
var localLayouts = []string{"2006-01-02T15:04:05", "2006-01-02T15:04", time.RFC3339Nano}

func parseLocal(s string) (time.Time, bool) {
	for _, l := range localLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

func localValue(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05") }

func (c *Console) account(w http.ResponseWriter, r *http.Request, s *session, p *page) {
	id := r.PathValue("id")
	if !p.May("accounts.status") && !p.May("security.history") {
		c.forbidden(w, p)
		return
	}
	q := r.URL.Query()
	p.Title = p.T("account")
	p.Data = map[string]any{"ID": id}
	if p.May("accounts.status") {
		path := "/v1/accounts/" + url.PathEscape(id) + "/status"
		if pos := q.Get("min_position"); pos != "" {
			path += "?" + url.Values{"min_position": {pos}}.Encode()
		}
		st := c.call(r, s, p.Lang, http.MethodGet, path, nil)
		if !st.ok() {
			p.Error = st.errorMessage()
			c.render(w, st.status, "account", p)
			return
		}
		p.Data["Status"] = st.body
		if email, _ := st.body["email"].(string); email != "" {
			p.Title = email
		}
	}
	if p.May("security.history") {
		after := q.Get("after")
		path := "/v1/accounts/" + url.PathEscape(id) + "/events?limit=20"
		if after != "" {
			if _, err := strconv.ParseUint(after, 10, 63); err == nil {
				path += "&after=" + after
			}
		}
		h := c.call(r, s, p.Lang, http.MethodGet, path, nil)
		if h.ok() {
			entries := asList(h.body["entries"])
			// Newest first on the page; the pages themselves go forward in revision order.
			for i, j := 0, len(entries)-1; i < j; i, j = i+1, j-1 {
				entries[i], entries[j] = entries[j], entries[i]
			}
			p.Data["History"] = entries
			if next, ok := h.body["next_after"].(float64); ok {
				p.Data["NextAfter"] = strconv.FormatUint(uint64(next), 10)
			}
			p.Data["After"] = after
		} else if p.Error == "" {
			p.Error = h.errorMessage()
		}
	}
	if p.May("security.state_at") {
		at := q.Get("at")
		p.Data["At"] = at
		if at != "" {
			t, ok := parseLocal(at)
			if !ok {
				p.Notes = append(p.Notes, p.T("at_invalid"))
			} else {
				p.Data["At"] = localValue(t)
				st := c.call(r, s, p.Lang, http.MethodGet, "/v1/accounts/"+url.PathEscape(id)+"/state?"+url.Values{"at": {t.Format(time.RFC3339)}}.Encode(), nil)
				if st.ok() {
					p.Data["State"] = st.body
					p.Data["StateReasons"] = stateReasons(st.body)
				} else {
					p.Notes = append(p.Notes, st.errorMessage())
				}
			}
		}
	}
	c.render(w, http.StatusOK, "account", p)
}

// stateReasons lists what held the account at a past instant, as codes the catalog words.
func stateReasons(st map[string]any) []string {
	status := asObj(st["status"])
	var out []string
	for _, r := range asList(status["reasons"]) {
		if code, _ := asObj(r)["code"].(string); code != "" {
			out = append(out, code)
		}
	}
	return out
}

// actions are the administrator's actions on an account, each one API route.
var actions = map[string]struct{ route, method, path string }{
	"unlock":    {"admin.unlock", http.MethodPost, "/v1/accounts/%s/unlock"},
	"disable":   {"admin.disable", http.MethodPost, "/v1/accounts/%s/disable"},
	"enable":    {"admin.enable", http.MethodPost, "/v1/accounts/%s/enable"},
	"mfa-reset": {"admin.mfa_reset", http.MethodPost, "/v1/admin/accounts/%s/mfa/reset"},
}

func (c *Console) confirmAction(w http.ResponseWriter, r *http.Request, s *session, p *page) {
	id, name := r.PathValue("id"), r.PathValue("action")
	act, ok := actions[name]
	if !ok {
		c.notFound(w, r)
		return
	}
	if !p.May(act.route) {
		c.forbidden(w, p)
		return
	}
	p.Title = p.T("confirm_" + name)
	p.Data = map[string]any{"ID": id, "Action": name}
	if st := c.call(r, s, p.Lang, http.MethodGet, "/v1/accounts/"+url.PathEscape(id)+"/status", nil); st.ok() {
		p.Data["Status"] = st.body
	}
	c.render(w, http.StatusOK, "confirm", p)
}

func (c *Console) doAction(w http.ResponseWriter, r *http.Request, s *session, p *page) {
	id, name := r.PathValue("id"), r.PathValue("action")
	act, ok := actions[name]
	if !ok {
		c.notFound(w, r)
		return
	}
	if !p.May(act.route) {
		c.forbidden(w, p)
		return
	}
	body := map[string]any{}
	if ref := strings.TrimSpace(r.PostFormValue("support_reference")); ref != "" {
		body["support_reference"] = ref
	}
	if actor := strings.TrimSpace(r.PostFormValue("actor_account_id")); actor != "" {
		body["actor_account_id"] = actor
	}
	if name == "disable" {
		if note := strings.TrimSpace(r.PostFormValue("note")); note != "" {
			body["note"] = note
		}
	}
	res := c.call(r, s, p.Lang, act.method, strings.Replace(act.path, "%s", url.PathEscape(id), 1), body)
	if !res.ok() {
		p.Title = p.T("confirm_" + name)
		p.Data = map[string]any{"ID": id, "Action": name}
		p.Error = res.errorMessage()
		c.render(w, res.status, "confirm", p)
		return
	}
	c.setFlash(s, p.T("done_"+name), true)
	pos := ""
	if n, ok := res.body["position"].(float64); ok {
		pos = "?min_position=" + strconv.FormatUint(uint64(n), 10)
	}
	http.Redirect(w, r, "/console/accounts/"+url.PathEscape(id)+pos, http.StatusSeeOther)
}
