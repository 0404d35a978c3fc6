package snapshot

import (
	"bytes"
	"compress/flate"
	"crypto/rand"
	"strings"
	"testing"
	"time"
)

// sealPlain seals a hand-written plaintext as Encode would, so that Decode meets a
// snapshot whose authentication is sound but whose content is not what this code wrote.
func sealPlain[S any](t *testing.T, c *Codec[S], stream string, revision uint64, plain string) Record {
	t.Helper()
	var z bytes.Buffer
	w, _ := flate.NewWriter(&z, flate.BestSpeed)
	w.Write([]byte(plain))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, c.aead.NonceSize())
	rand.Read(nonce)
	return Record{Stream: stream, Version: c.version, Revision: revision, At: time.Unix(0, 0).UTC(),
		Data: c.aead.Seal(nonce, nonce, z.Bytes(), c.aad(stream, revision))}
}

type sealedState struct {
	Count int `json:"count"`
}

func TestDecodeRefusesWhatThisCodeDidNotWrite(t *testing.T) {
	c, err := NewCodec[sealedState]("test", "e1", bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, plain, want string
	}{
		{"a field of another fold", `{"format":2,"stream":"s","revision":3,"position":9,"at":"2026-01-01T00:00:00Z","state":{"count":2,"streak":5}}`, "unknown field"},
		{"an unknown envelope field", `{"format":2,"stream":"s","revision":3,"position":9,"at":"2026-01-01T00:00:00Z","state":{"count":2},"extra":true}`, "unknown field"},
		{"an older format", `{"format":1,"stream":"s","revision":3,"position":9,"at":"2026-01-01T00:00:00Z","state":{"count":2}}`, "format 1"},
		{"a format 1 command with its events", `{"format":2,"stream":"s","revision":3,"position":9,"at":"2026-01-01T00:00:00Z","state":{"count":2},"commands":[{"id":"c","events":[],"positions":[9]}]}`, "unknown field"},
		{"a command beyond the snapshot", `{"format":2,"stream":"s","revision":3,"position":9,"at":"2026-01-01T00:00:00Z","state":{"count":2},"commands":[{"id":"c","revision":3,"positions":[9,10]}]}`, "beyond"},
		{"a command without events", `{"format":2,"stream":"s","revision":3,"position":9,"at":"2026-01-01T00:00:00Z","state":{"count":2},"commands":[{"id":"c","revision":3,"positions":[]}]}`, "no events"},
		{"another stream", `{"format":2,"stream":"t","revision":3,"position":9,"at":"2026-01-01T00:00:00Z","state":{"count":2}}`, "t@3"},
		{"not JSON", `{"format":2,`, "decode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Decode(sealPlain(t, c, "s", 3, tc.plain))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Decode: %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
	good := sealPlain(t, c, "s", 3, `{"format":2,"stream":"s","revision":3,"position":9,"at":"2026-01-01T00:00:00Z","state":{"count":2}}`)
	if s, err := c.Decode(good); err != nil || s.State.Count != 2 || s.Position != 9 {
		t.Fatalf("Decode of a well-formed plaintext: %+v, %v", s, err)
	}
}
