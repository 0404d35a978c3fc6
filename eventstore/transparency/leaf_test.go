package transparency_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"accountd/eventstore"
	"accountd/eventstore/transparency"
)

func TestLeafCarriesNoSecretNorPersonalDatum(t *testing.T) {
	id := uuid.MustParse("01890a5d-ac96-774b-bcce-b302099a8057")
	cases := []struct {
		name, data string
		hidden     []string
		shown      []string
	}{
		{"PasswordAndEmail", `{"account_id":"acc-1","email":"anna@hotel.example","password_hash":"$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA","policy":{"min_length":12}}`,
			[]string{"anna@hotel.example", "argon2id"}, []string{"acc-1", `"min_length":12`}},
		{"OriginNested", `{"origin":{"ip":"203.0.113.9","user_agent":"Mozilla/5.0","device_id":"dev-42"},"session_id":"s-1"}`,
			[]string{"203.0.113.9", "Mozilla", "dev-42"}, []string{"s-1"}},
		{"TokenAndSealedSecret", `{"token_hash":"b64tokenhash","nonce":"n0nce","encrypted_secret":"c2VhbGVk"}`,
			[]string{"b64tokenhash", "n0nce", "c2VhbGVk"}, nil},
		{"ArraysOfAddresses", `{"evidence":{"addresses":["198.51.100.1","198.51.100.2"],"devices":["d1"]}}`,
			[]string{"198.51.100.1", "198.51.100.2", `"d1"`}, []string{"evidence"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := eventstore.RecordedEvent{ID: id, Stream: "account-1", Type: "T", Position: 7, RecordedAt: time.Unix(0, 1).UTC(), Data: []byte(c.data)}
			leaf := transparency.LeafBytes(e)
			for _, h := range c.hidden {
				if bytes.Contains(leaf, []byte(h)) {
					t.Errorf("leaf holds %q in clear: %s", h, leaf)
				}
			}
			for _, s := range c.shown {
				if !bytes.Contains(leaf, []byte(s)) {
					t.Errorf("leaf lost %q: %s", s, leaf)
				}
			}
		})
	}
}

func TestCommitmentsCanBeCheckedByWhoKnowsTheValue(t *testing.T) {
	id := uuid.New()
	e := eventstore.RecordedEvent{ID: id, Data: []byte(`{"email":"anna@hotel.example","token_hash":"tok"}`)}
	view := string(transparency.ViewOf(e.ID, e.Data, nil).Data)
	if !strings.HasPrefix(view, "J") {
		t.Fatalf("view of a JSON payload starts %q", view[:1])
	}
	for _, want := range []string{transparency.CommitPersonal(id, "email", "anna@hotel.example"), transparency.CommitSecret("tok")} {
		if !strings.Contains(view, want) {
			t.Errorf("view %s lacks commitment %s", view, want)
		}
	}
	other := transparency.ViewOf(uuid.New(), e.Data, nil)
	if bytes.Equal(other.Data, []byte(view)) {
		t.Error("the same e-mail in another event has the same commitment: the salt is missing")
	}
	opaque := transparency.ViewOf(id, []byte("not json {"), nil).Data
	if opaque[0] != transparency.ViewOpaque || len(opaque) != 33 {
		t.Errorf("opaque payload view %x", opaque)
	}
}

func TestCheckpointSignedAcrossARotation(t *testing.T) {
	oldKey, err := transparency.GenerateSigningKey("accountd.test/log")
	if err != nil {
		t.Fatal(err)
	}
	newKey, err := transparency.GenerateSigningKey("accountd.test/log")
	if err != nil {
		t.Fatal(err)
	}
	cp := transparency.Checkpoint{Origin: "accountd.test/log", Size: 42, Hash: [32]byte{1, 2, 3}}
	before, _ := transparency.SignCheckpoint(cp, oldKey.Signer)
	both, _ := transparency.SignCheckpoint(cp, oldKey.Signer, newKey.Signer)
	after, _ := transparency.SignCheckpoint(transparency.Checkpoint{Origin: cp.Origin, Size: 43, Hash: cp.Hash}, newKey.Signer)
	cases := []struct {
		name string
		msg  []byte
		keys []transparency.SigningKey
		ok   bool
	}{
		{"OldWithOldKey", before, []transparency.SigningKey{oldKey}, true},
		{"OldWithNewKey", before, []transparency.SigningKey{newKey}, false},
		{"IntroductionWithOld", both, []transparency.SigningKey{oldKey}, true},
		{"IntroductionWithNew", both, []transparency.SigningKey{newKey}, true},
		{"AfterWithNew", after, []transparency.SigningKey{newKey}, true},
		{"AfterWithOld", after, []transparency.SigningKey{oldKey}, false},
		{"Edited", bytes.Replace(before, []byte("\n42\n"), []byte("\n41\n"), 1), []transparency.SigningKey{oldKey}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var v []transparency.SigningKey
			v = append(v, c.keys...)
			vkey, err := transparency.ParseVerifierKey(v[0].VerifierKey)
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := transparency.OpenCheckpoint(c.msg, vkey)
			if (err == nil) != c.ok {
				t.Fatalf("open: %v, want ok=%v", err, c.ok)
			}
			if c.ok && (got.Origin != cp.Origin || got.Hash != cp.Hash) {
				t.Fatalf("opened %+v", got)
			}
		})
	}
}

// Key text is base64, which holds '+' as often as not: parsing must not split on it.
func TestSigningKeysParseWhateverTheirBase64(t *testing.T) {
	for range 64 {
		k, err := transparency.GenerateSigningKey("accountd.test/log")
		if err != nil {
			t.Fatal(err)
		}
		msg, err := transparency.SignCheckpoint(transparency.Checkpoint{Origin: "o", Size: 1}, k.Signer)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := transparency.OpenCheckpoint(msg, k.Verifier); err != nil {
			t.Fatalf("key %s: %v", k.VerifierKey, err)
		}
	}
}
