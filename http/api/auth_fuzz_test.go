package api

import (
	"reflect"
	"strings"
	"testing"
)

// A token file either is refused (naming the entry, never the secret) or gives tokens that
// written back as "token:role+role" lines read as the same tokens. Nothing panics.
func FuzzParseTokens(f *testing.F) {
	for _, s := range []string{
		"acd_0123456789abcdef:admin\nacd_fedcba9876543210:login-service+security\n",
		"# comment\n\nacd_0123456789abcdef:auditor, acd_0123456789abcdef:security",
		"short:admin", "acd_0123456789abcdef:", ":admin", "acd_0123456789abcdef:wizard", "acd_0123 456789abcdef:admin",
		"acd_0123456789abcdef:admin:extra", "\xff\xfe:admin", "acd_0123456789abcdef:+",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		tokens, err := ParseTokens(text)
		if err != nil {
			for _, item := range strings.FieldsFunc(text, func(r rune) bool { return r == '\n' || r == ',' }) {
				secret, _, _ := strings.Cut(item, ":")
				// An unknown role is quoted (it is no secret); any other error names no secret.
				if secret = strings.TrimSpace(secret); len(secret) >= MinTokenLength && !strings.Contains(err.Error(), "unknown role") && strings.Contains(err.Error(), secret) {
					t.Fatalf("the error %q repeats a secret", err)
				}
			}
			return
		}
		var b strings.Builder
		for _, tok := range tokens {
			if len(tok.Secret) < MinTokenLength || len(tok.Roles) == 0 {
				t.Fatalf("accepted a token without a secret or a role: %+v", tok)
			}
			names := make([]string, len(tok.Roles))
			for i, r := range tok.Roles {
				names[i] = string(r)
			}
			b.WriteString(tok.Secret + ":" + strings.Join(names, "+") + "\n")
		}
		back, err := ParseTokens(b.String())
		if err != nil || !reflect.DeepEqual(back, tokens) {
			t.Fatalf("%q -> %+v -> %q -> %+v (%v)", text, tokens, b.String(), back, err)
		}
	})
}
