package personal_test

import (
	"errors"
	"regexp"
	"testing"

	"github.com/google/uuid"

	"accountd/eventstore/personal"
)

var tokenPattern = regexp.MustCompile(`sealed\.v1:[^"]+`)

type storedToken struct {
	id                    uuid.UUID
	text, subject, period string
}

func storedTokens(t *testing.T, f fixture) []storedToken {
	var out []storedToken
	for _, r := range readAll(t, f.inner) {
		for _, m := range tokenPattern.FindAll(r.Data, -1) {
			parts := regexp.MustCompile(`:`).Split(string(m), 5)
			out = append(out, storedToken{id: r.ID, text: string(m), subject: parts[2], period: parts[3]})
		}
	}
	return out
}

// A disclosure hands an auditor one value and the key of its subject and month: that key
// opens the values of that subject and month, in the events they were sealed for, and
// nothing else; an erased value is never disclosed.
func TestDisclosureOpensOneSubjectAndMonthOnly(t *testing.T) {
	f := newFixture()
	f.appendAll(t, jan)
	f.appendAll(t, jan.AddDate(0, 1, 0))
	tokens := storedTokens(t, f)
	if len(tokens) < 10 {
		t.Fatalf("only %d tokens stored", len(tokens))
	}
	for _, tok := range tokens {
		d, err := f.sealed.Disclose(t.Context(), tok.id, tok.text)
		if err != nil {
			t.Fatalf("disclose %s: %v", tok.text, err)
		}
		if v, err := personal.OpenDisclosed(d.Key, tok.id, tok.text); err != nil || v != d.Value {
			t.Fatalf("the disclosed key opens %q, %v; disclosed %q", v, err, d.Value)
		}
		if _, err := personal.OpenDisclosed(d.Key, uuid.New(), tok.text); err == nil {
			t.Fatal("a disclosed key opened its token as another event's")
		}
		for _, other := range tokens {
			_, err := personal.OpenDisclosed(d.Key, other.id, other.text)
			same := other.subject == tok.subject && other.period == tok.period
			if same != (err == nil) {
				t.Fatalf("the key of %s/%s opening %s/%s: %v", tok.subject, tok.period, other.subject, other.period, err)
			}
		}
	}
	if _, err := f.sealed.Disclose(t.Context(), uuid.New(), "marie@example.com"); !errors.Is(err, personal.ErrNotToken) {
		t.Fatalf("disclosing a plain value: %v", err)
	}
	if err := f.sealed.DestroySubject(t.Context(), personal.AccountSubject("A1")); err != nil {
		t.Fatal(err)
	}
	erased := 0
	for _, tok := range tokens {
		if tok.subject != personal.AccountSubject("A1") {
			continue
		}
		erased++
		if d, err := f.sealed.Disclose(t.Context(), tok.id, tok.text); !errors.Is(err, personal.ErrDestroyed) {
			t.Fatalf("disclosing an erased value: %+v, %v", d, err)
		}
	}
	if erased == 0 {
		t.Fatal("no token of account A1")
	}
}
