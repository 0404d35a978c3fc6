package serve_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"accountd/http/api"
)

// pageAll follows next_cursor from the first page to the last and returns every item of
// the list key, so a page boundary that drops or repeats an item fails.
func (e *env) pageAll(path, key string, limit int) []map[string]any {
	e.t.Helper()
	var all []map[string]any
	sep := "?"
	if u, _ := url.Parse(path); u.RawQuery != "" {
		sep = "&"
	}
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 100 {
			e.t.Fatalf("%s: more than 100 pages", path)
		}
		p := fmt.Sprintf("%s%slimit=%d", path, sep, limit)
		if cursor != "" {
			p += "&cursor=" + url.QueryEscape(cursor)
		}
		r := e.must(e.get(p, api.RoleAdmin), http.StatusOK)
		items, _ := r.body[key].([]any)
		if len(items) > limit {
			e.t.Fatalf("%s: %d items on a page of %d", p, len(items), limit)
		}
		for _, it := range items {
			all = append(all, it.(map[string]any))
		}
		if cursor = r.str("next_cursor"); cursor == "" {
			return all
		}
	}
}

func TestListPropertiesAndMembers(t *testing.T) {
	e := newEnv(t, nil)
	lago := e.createProperty("Hotel Lago")
	e.createProperty("Albergo Monte")
	e.createProperty("Lago Verde Resort")
	var members []string
	for i := range 5 {
		addr := fmt.Sprintf("staff%d@lago.example", i)
		r := e.must(e.post("/v1/properties/"+lago+"/members", api.RoleAdmin, map[string]string{"email": addr, "password": goodPassword, "support_reference": "T-1"}), http.StatusCreated)
		members = append(members, r.str("account_id"))
	}
	manager := members[2]
	e.must(e.post("/v1/properties/"+lago+"/user-managers", api.RoleAdmin, map[string]string{"account_id": manager}), http.StatusOK)
	slices.Sort(members)
	// Every read below waits for the last write.
	last := e.must(e.post("/v1/properties/"+lago+"/billing-contacts", api.RoleAdmin, map[string]string{"email": "billing@lago.example"}), http.StatusOK).position()
	at := "min_position=" + itoa(last)

	ids := func(items []map[string]any, key string) []string {
		var out []string
		for _, it := range items {
			out = append(out, it[key].(string))
		}
		return out
	}
	for _, tc := range []struct {
		name, query string
		want        int
	}{
		{"every property", "", 3},
		{"by a part of the name, any case", "name=LAGO", 2},
		{"by member", "member_account_id=" + members[0], 1},
		{"no match", "name=nowhere", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := "/v1/properties?" + at
			if tc.query != "" {
				path += "&" + tc.query
			}
			for _, limit := range []int{1, 2, 50} {
				got := ids(e.pageAll(path, "properties", limit), "property_id")
				if len(got) != tc.want || !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
					t.Errorf("limit %d: %v, want %d distinct in order", limit, got, tc.want)
				}
			}
		})
	}

	for _, limit := range []int{1, 2, 5, 50} {
		page := e.pageAll("/v1/properties/"+lago+"/members?"+at, "members", limit)
		if got := ids(page, "account_id"); !slices.Equal(got, members) {
			t.Errorf("members, limit %d: %v, want %v", limit, got, members)
		}
		for _, m := range page {
			if m["user_management"] != (m["account_id"] == manager) || m["email"] == "" {
				t.Errorf("member %v: want user_management only for %s, and an e-mail", m, manager)
			}
		}
	}

	for _, tc := range []struct{ name, path, code string }{
		{"a cursor of another list", "/v1/properties/" + lago + "/members?cursor=" + e.must(e.get("/v1/properties?limit=1", api.RoleAdmin), http.StatusOK).str("next_cursor"), "invalid_cursor"},
		{"a made-up cursor", "/v1/properties?cursor=bogus", "invalid_cursor"},
		{"a limit too large", "/v1/properties?limit=1000", "invalid_limit"},
		{"an unknown property", "/v1/properties/nowhere/members", "property_not_found"},
	} {
		if r := e.get(tc.path, api.RoleAdmin); r.errCode() != tc.code {
			t.Errorf("%s: %d %s, want %s", tc.name, r.status, r.raw, tc.code)
		}
	}
	if r := e.get("/v1/properties", api.RoleLoginService); r.status != http.StatusForbidden {
		t.Errorf("login-service listed properties: %d", r.status)
	}
}
