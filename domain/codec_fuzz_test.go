package domain

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
)

// Whatever bytes are stored under an event type, decoding never panics; what decodes is
// what encoding/json (the writer's library) decodes from the same bytes, and survives its
// own round trip through the stored form unchanged.
func FuzzDecodePayload(f *testing.F) {
	types := EventTypes()
	slices.Sort(types)
	for i, name := range types {
		_, body, err := EncodePayload(reflect.New(registry[name]).Elem().Interface().(Payload))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), body)
	}
	for _, body := range []string{
		`{"reason":"invalid_credentials","failed_attempts":3,"origin":{"ip":"1.2.3.4","user_agent":"a\u00e9\"b"},"added_in_v2":{"x":[1,2]}}`,
		`{"failed_attempts":null,"origin":null}`, `{"policy":{"max_age":"90d","min_length":12},"email":"\u00e9@h.example"}`,
		`{"expires_at":"2026-05-01T08:30:00.123456789+02:00","idle_after":"6h0m0s"}`, `{"encrypted_secret":"AAEC/w=="}`,
		`{"email":"a","EMAIL":"b"}`, `{"failed_attempts":1e3}`, "{\"email\":\"\xff\"}", `[]`, `null`, `"x"`,
	} {
		f.Add(uint8(0), []byte(body))
	}
	f.Fuzz(func(t *testing.T, typeIndex uint8, body []byte) {
		name := types[int(typeIndex)%len(types)]
		got, err := DecodePayload(name, body)
		if err != nil {
			return
		}
		std := reflect.New(registry[name])
		if err := json.Unmarshal(body, std.Interface()); err != nil {
			t.Fatalf("%s %q: the fast decoder accepts what encoding/json refuses: %v", name, body, err)
		}
		if !reflect.DeepEqual(got, std.Elem().Interface()) {
			t.Fatalf("%s %q:\n go-json       %#v\n encoding/json %#v", name, body, got, std.Elem().Interface())
		}
		typ, again, err := EncodePayload(got)
		if err != nil {
			t.Fatalf("%s: decoded value does not encode: %v", name, err)
		}
		back, err := DecodePayload(typ, again)
		if err != nil || !reflect.DeepEqual(back, got) {
			t.Fatalf("%s: round trip %q -> %#v -> %q -> %#v (%v)", name, body, got, again, back, err)
		}
	})
}
