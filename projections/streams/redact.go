package streams

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	json "github.com/goccy/go-json"
)

// secretFields are the JSON fields of event payloads that never leave accountd: password
// hashes, link token hashes and nonces (with the link key a nonce gives the token back),
// sealed TOTP secrets. Session IDs are replaced by sessionRef. Every other field of every
// payload is listed in publicFields (redact_test.go), so a new field is a decision, not an
// accident.
var secretFields = map[string]bool{
	"password_hash":    true,
	"token_hash":       true,
	"nonce":            true,
	"encrypted_secret": true,
}

// sessionField is replaced by sessionRefField: a SIEM can still pair a logon with its logoff,
// and nobody holding the stream can check a session in the API with it.
const (
	sessionField    = "session_id"
	sessionRefField = "session_ref"
)

// sessionRef is a one-way reference to a session ID. Session IDs are random 128-bit values,
// so an unkeyed hash cannot be reversed by guessing.
func sessionRef(id string) string {
	sum := sha256.Sum256([]byte("accountd-session\x00" + id))
	return hex.EncodeToString(sum[:16])
}

// redact returns a payload's stored JSON without its secrets.
func redact(data []byte) (json.RawMessage, error) {
	var fields map[string]any
	if err := json.Unmarshal(data, &fields); err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	scrub(fields)
	return json.Marshal(fields)
}

func scrub(v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, child := range t {
			switch {
			case secretFields[k]:
				delete(t, k)
			case k == sessionField:
				delete(t, k)
				if s, ok := child.(string); ok && s != "" {
					t[sessionRefField] = sessionRef(s)
				}
			default:
				scrub(child)
			}
		}
	case []any:
		for _, child := range t {
			scrub(child)
		}
	}
}
