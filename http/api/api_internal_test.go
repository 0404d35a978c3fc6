package api

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"accountd/domain"
	"accountd/domain/messages"
	"accountd/projections"
)

// Every stable code of domain/errors.go has an HTTP status: read from the source, so a code
// added there without a status here fails this test.
func TestEveryDomainCodeHasAStatus(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "../../domain/errors.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	ast.Inspect(f, func(node ast.Node) bool {
		vs, ok := node.(*ast.ValueSpec)
		if !ok || len(vs.Values) != 1 || !strings.HasPrefix(vs.Names[0].Name, "Code") {
			return true
		}
		lit, ok := vs.Values[0].(*ast.BasicLit)
		if !ok {
			return true
		}
		code, _ := strconv.Unquote(lit.Value)
		n++
		if _, ok := domainStatus[domain.Code(code)]; !ok {
			t.Errorf("domain code %s (%q) has no HTTP status", vs.Names[0].Name, code)
		}
		return true
	})
	if n < 20 {
		t.Fatalf("found only %d codes in domain/errors.go", n)
	}
}

// The hand-written JSON decodes to what encoding/json would have written.
func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{
		"", "plain", `quote " and \ backslash`, "tab\tnew\nline\rret", "\x00\x01\x1f control",
		"Hôtel « du Lac » – è", "line\u2028sep\u2029", "bad \xff utf8 \xc3", "<html>&amp;", "emoji 🏨",
	} {
		var got, want string
		if err := json.Unmarshal(appendString(nil, s), &got); err != nil {
			t.Errorf("%q: invalid JSON %s: %v", s, appendString(nil, s), err)
			continue
		}
		ref, _ := json.Marshal(s)
		_ = json.Unmarshal(ref, &want)
		if got != want {
			t.Errorf("%q: decodes to %q, encoding/json to %q", s, got, want)
		}
	}
}

func TestAppendStatusIsValidJSON(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 123, time.UTC)
	v := projections.StatusView{
		AccountID: "a1", Email: "anna@lac.example", PasswordChangedAt: now, PasswordExpiresAt: now.Add(90 * 24 * time.Hour), Position: 42,
		Status: domain.AccountStatus{Status: domain.StatusLocked, FailedAttempts: 6,
			Reasons: []domain.Reason{{Code: domain.ReasonAccountLocked, Since: now, Remediation: domain.FixUseUnlockLink},
				{Code: domain.ReasonDisabledBilling, Since: now, Until: now.Add(time.Hour), Remediation: domain.FixPayInvoice, PropertyID: "p1"}},
			Properties: []domain.PropertyAccess{{PropertyID: "p1", Reasons: []domain.Reason{{Code: domain.ReasonDisabledBilling, Since: now}}}, {PropertyID: "p2", Allowed: true}},
		},
	}
	b := appendStatus(nil, &v, messages.French)
	var out struct {
		AccountID string `json:"account_id"`
		Reasons   []struct {
			Code            string    `json:"code"`
			Message         string    `json:"message"`
			RemediationCode string    `json:"remediation_code"`
			Since           time.Time `json:"since"`
			Until           time.Time `json:"until"`
			PropertyID      string    `json:"property_id"`
		} `json:"reasons"`
		MFA struct {
			EnrolmentDueBy *time.Time `json:"enrolment_due_by"`
		} `json:"mfa"`
		Properties []struct {
			Allowed bool `json:"allowed"`
		} `json:"properties"`
		Position          uint64    `json:"position"`
		PasswordExpiresAt time.Time `json:"password_expires_at"`
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	if out.AccountID != "a1" || len(out.Reasons) != 2 || out.Position != 42 || !out.PasswordExpiresAt.Equal(v.PasswordExpiresAt) {
		t.Fatalf("decoded %+v from %s", out, b)
	}
	if r := out.Reasons[1]; r.PropertyID != "p1" || !r.Until.Equal(now.Add(time.Hour)) || r.RemediationCode != domain.FixPayInvoice {
		t.Fatalf("second reason %+v", r)
	}
	if msg, _ := messages.Reason(domain.ReasonAccountLocked, messages.French, domain.DisclosureSpecific); out.Reasons[0].Message != msg {
		t.Fatalf("message %q, want the French %q", out.Reasons[0].Message, msg)
	}
	if out.MFA.EnrolmentDueBy != nil || len(out.Properties) != 2 || out.Properties[0].Allowed || !out.Properties[1].Allowed {
		t.Fatalf("decoded %+v", out)
	}
}

func TestParseTokens(t *testing.T) {
	const a, b = "aaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbb"
	tests := []struct {
		name, text string
		want       map[string]roleSet
		err        string
	}{
		{"env form", a + ":admin," + b + ":login-service", map[string]roleSet{a: rolesOf(RoleAdmin), b: rolesOf(RoleLoginService)}, ""},
		{"file form", "# clients\n\n" + a + ":security\n  " + b + ":auditor  \n", map[string]roleSet{a: rolesOf(RoleSecurity), b: rolesOf(RoleAuditor)}, ""},
		{"several roles", a + ":admin+security," + a + ":auditor", map[string]roleSet{a: rolesOf(RoleAdmin, RoleSecurity, RoleAuditor)}, ""},
		{"unknown role", a + ":root", nil, `unknown role "root"`},
		{"no role", a, nil, "want token:role"},
		{"short token", "short:admin", nil, "at least 16 characters"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tokens, err := ParseTokens(tc.text)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				if strings.Contains(err.Error(), a) {
					t.Fatalf("error reveals the token: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]roleSet{}
			for _, tok := range tokens {
				got[tok.Secret] = rolesOf(tok.Roles...)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Fatalf("%s: roles %b, want %b", k, got[k], v)
				}
			}
		})
	}
}

func TestAuthenticator(t *testing.T) {
	auth := newAuthenticator([]Token{{Secret: "token-for-the-admin", Roles: []Role{RoleAdmin}}, {Secret: "token-for-two-roles", Roles: []Role{RoleSecurity, RoleAuditor}}})
	tests := []struct {
		header string
		want   roleSet
	}{
		{"", 0},
		{"Bearer token-for-the-admin", rolesOf(RoleAdmin)},
		{"bearer  token-for-two-roles ", rolesOf(RoleSecurity, RoleAuditor)},
		{"Basic token-for-the-admin", 0},
		{"Bearer token-for-the-admi", 0},
		{"Bearer ", 0},
	}
	for _, tc := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		if tc.header != "" {
			r.Header.Set("Authorization", tc.header)
		}
		if got := auth.roles(r); got != tc.want {
			t.Errorf("%q: roles %b, want %b", tc.header, got, tc.want)
		}
	}
}

func TestStatusPathID(t *testing.T) {
	tests := []struct {
		path, id string
		ok       bool
	}{
		{"/v1/accounts/abc/status", "abc", true},
		{"/v1/accounts/status", "", false},
		{"/v1/accounts//status", "", false},
		{"/v1/accounts/a/b/status", "", false},
		{"/v1/accounts/abc/status/", "", false},
		{"/v1/accountsx/abc/status", "", false},
	}
	for _, tc := range tests {
		if id, ok := statusPathID(tc.path); id != tc.id || ok != tc.ok {
			t.Errorf("%s: %q %v", tc.path, id, ok)
		}
	}
}
