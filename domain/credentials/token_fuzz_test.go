package credentials

import (
	"strings"
	"testing"
)

// A link token names its account: any token this key issues reads back as that account,
// whatever the account ID holds, and anything else is either malformed or a well-formed
// token that is then checked against the account's stored hash. Nothing panics.
func FuzzLinkTokens(f *testing.F) {
	key, err := NewLinkKey([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"6f1c3b7e-2d4a-4e8f-9a1b-0c2d3e4f5a6b", "a.b", "", "id-001", "x_y:z", " spaced ", "é"} {
		f.Add(s, s+".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	}
	f.Add("a", "a.!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!")
	f.Fuzz(func(t *testing.T, accountID, token string) {
		if id, err := TokenAccount(token); err == nil && id == "" {
			t.Fatalf("%q: accepted with no account", token)
		}
		if accountID == "" || strings.TrimSpace(accountID) != accountID {
			return // the service never issues for such an ID
		}
		l, err := key.Issue(accountID)
		if err != nil {
			t.Fatal(err)
		}
		id, err := TokenAccount(l.Token)
		if err != nil || id != accountID {
			t.Fatalf("token for %q reads as %q (%v)", accountID, id, err)
		}
		if HashToken(l.Token) != l.Hash || key.Token(accountID, l.Nonce) != l.Token {
			t.Fatalf("token for %q is not derived again from its nonce", accountID)
		}
	})
}
