package streams

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	json "github.com/goccy/go-json"

	"accountd/domain"
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

// FieldsOf lists the JSON field names an event type's payload can hold, nested ones included.
func FieldsOf(eventType string) []string {
	p, err := domain.DecodePayload(eventType, []byte("{}"))
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	jsonFields(reflect.TypeOf(p), map[reflect.Type]bool{}, seen)
	out := make([]string, 0, len(seen))
	for name := range seen {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

func jsonFields(t reflect.Type, visited map[reflect.Type]bool, out map[string]bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map || t.Kind() == reflect.Array {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == reflect.TypeOf(time.Time{}) || visited[t] {
		return
	}
	visited[t] = true
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = true
		jsonFields(f.Type, visited, out)
	}
}

// clean lists the event types none of whose fields is secret: their stored JSON goes out
// as it is, without a decode and re-encode (most of the log: sign-ins and failures).
var clean = map[string]bool{}

func init() {
	for _, typ := range domain.EventTypes() {
		if !slices.ContainsFunc(FieldsOf(typ), func(f string) bool { return secretFields[f] || f == sessionField }) {
			clean[typ] = true
		}
	}
}

// redactEvent returns an event's stored JSON without its secrets.
func redactEvent(eventType string, data []byte) (json.RawMessage, error) {
	if clean[eventType] {
		return data, nil
	}
	return redact(data)
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
