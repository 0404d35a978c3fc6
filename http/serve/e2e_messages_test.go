package serve_test

import (
	"testing"

	"accountd/domain"
	"accountd/http/api"
)

// Error envelopes follow Accept-Language as refusals do: the message is in the client's
// language, the code and status are the same in every language, and English keeps the
// message that names the exact problem.
func TestErrorEnvelopesSpeakTheClientsLanguage(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		name, method, path, body string
		role                     api.Role
		lang                     string
		status                   int
		code                     domain.Code
		message                  string
	}{
		{"unknown session, English", "GET", "/v1/sessions/nobody_x", "", api.RoleLoginService, "", 404, domain.CodeSessionNotFound, "no such session"},
		{"unknown session, French", "GET", "/v1/sessions/nobody_x", "", api.RoleLoginService, "fr-CH, fr;q=0.9, en;q=0.8", 404, domain.CodeSessionNotFound, "La session n'existe pas."},
		{"unknown session, Italian", "GET", "/v1/sessions/nobody_x", "", api.RoleLoginService, "it-IT", 404, domain.CodeSessionNotFound, "La sessione non esiste."},
		{"no token, French", "GET", "/v1/sessions/nobody_x", "", "", "fr", 401, api.CodeUnauthenticated, "Un jeton d'accès (bearer) valable est requis."},
		{"no token, Italian", "GET", "/v1/sessions/nobody_x", "", "", "it", 401, api.CodeUnauthenticated, "È richiesto un token di accesso (bearer) valido."},
		{"bad JSON, Italian", "POST", "/v1/logins", `{"email":`, api.RoleLoginService, "it;q=0.9, de", 400, api.CodeInvalidJSON, "Il corpo della richiesta non è il JSON che questo endpoint si aspetta."},
		{"unknown path, French", "GET", "/v1/nothing-here", "", api.RoleLoginService, "fr", 404, api.CodeNotFound, "Ce point d'accès ou cette ressource n'existe pas."},
		{"unknown path, a language not spoken", "GET", "/v1/nothing-here", "", api.RoleLoginService, "de-DE", 404, api.CodeNotFound, "no such endpoint"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			headers := []string{"Content-Type", "application/json"}
			if tc.lang != "" {
				headers = append(headers, "Accept-Language", tc.lang)
			}
			r := e.call(tc.method, tc.path, tc.role, tc.body, headers...)
			msg, _ := r.body["error"].(map[string]any)["message"].(string)
			if r.status != tc.status || r.errCode() != tc.code || msg != tc.message {
				t.Errorf("%d %s %q, want %d %s %q", r.status, r.errCode(), msg, tc.status, tc.code, tc.message)
			}
		})
	}
}
