package evidence

import (
	"encoding/json"
	"testing"

	"github.com/google/uuid"

	"accountd/domain"
	"accountd/eventstore"
	"accountd/eventstore/memory"
	"accountd/eventstore/personal"
	"accountd/eventstore/transparency"
)

// A bundle's opening of a sealed value binds its value to the token through the disclosed
// key: the leaf matches only when the key opens the token to exactly that value, so an
// exporter (or anyone between it and the auditor) cannot show another address.
func TestSealedOpeningsProveTheirValue(t *testing.T) {
	ctx := t.Context()
	sealed := personal.Seal(memory.New(), personal.NewMemory())
	id := uuid.New()
	meta := []byte(`{"occurred_at":"2026-03-02T09:00:00Z"}`)
	if _, err := sealed.Append(ctx, "account-A1", eventstore.Any, eventstore.EventData{ID: id, Type: "login_succeeded.v1", Data: []byte(`{"origin":{"ip":"192.0.2.44"}}`), Metadata: meta}); err != nil {
		t.Fatal(err)
	}
	stored, err := sealed.Unwrap().ReadAll(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	opened, err := openings(ctx, stored[0], sealed)
	if err != nil || len(opened) != 1 || opened[0].Value != "192.0.2.44" || opened[0].Key == nil {
		t.Fatalf("openings %+v, %v", opened, err)
	}
	leaf := transparency.LeafBytes(stored[0])
	ip := func(o []Opening) (string, int) {
		rec, unmatched, err := leafEvent(leaf, o)
		if err != nil {
			t.Fatal(err)
		}
		var v struct{ Origin struct{ IP string } }
		if err := json.Unmarshal(rec.Data, &v); err != nil {
			t.Fatal(err)
		}
		return v.Origin.IP, len(unmatched)
	}
	if got, unmatched := ip(opened); got != "192.0.2.44" || unmatched != 0 {
		t.Fatalf("the true opening reads %q with %d unmatched", got, unmatched)
	}
	forged := opened[0]
	forged.Value = "198.51.100.1"
	if got, unmatched := ip([]Opening{forged}); got == forged.Value || unmatched != 1 {
		t.Fatalf("a forged value was accepted: %q, %d unmatched", got, unmatched)
	}
	erased := opened[0]
	erased.Value, erased.Key = domain.Erased, nil
	if got, unmatched := ip([]Opening{erased}); got != domain.Erased || unmatched != 0 {
		t.Fatalf("an erased opening reads %q with %d unmatched", got, unmatched)
	}
}
