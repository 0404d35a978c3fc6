package domain

import (
	"encoding/json"
	"reflect"
	"testing"
)

// A policy file either is refused with a PolicyError or gives a valid policy that writes
// out and reads back as itself. Nothing panics.
func FuzzParsePolicyJSON(f *testing.F) {
	def, err := json.Marshal(DefaultPolicy())
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		string(def), `{}`, `{"lockout_threshold":7}`, `{"lockout_threshold":11}`, `{"password_max_age":"90d"}`,
		`{"password_max_age":"-1h"}`, `{"session_idle_timeout":"15m","disclosure":"generic"}`, `{"unknown":1}`,
		`{"lockout_threshold":"6"}`, `{"reset_link_ttl":"99999999999d"}`, `[`, `null`, `{"lockout_duration":"30m"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePolicyJSON(data)
		if err != nil {
			if ErrorCode(err) != CodeInvalidPolicy {
				t.Fatalf("%q refused with %v, want invalid_policy", data, err)
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("%q accepted but invalid: %v", data, err)
		}
		out, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("accepted policy does not encode: %v", err)
		}
		back, err := ParsePolicyJSON(out)
		if err != nil || !reflect.DeepEqual(back, p) {
			t.Fatalf("%q -> %s -> %+v (%v): not a round trip", data, out, back, err)
		}
	})
}

// A duration either is refused or is non-negative and reads back from its own text.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"90d", "15h", "30m", "60s", "1h30m", "0", "0d", "-1h", "1.5h", "100001d", " 7d ", "d", "9223372036854775807ns", "1e3s", "+5m"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			return
		}
		if d < 0 {
			t.Fatalf("%q parsed as negative %d", s, d)
		}
		back, err := ParseDuration(d.String())
		if err != nil || back != d {
			t.Fatalf("%q -> %d -> %q -> %d (%v)", s, d, d.String(), back, err)
		}
		var viaJSON Duration
		b, _ := json.Marshal(d)
		if err := json.Unmarshal(b, &viaJSON); err != nil || viaJSON != d {
			t.Fatalf("%q: JSON round trip %s -> %d (%v)", s, b, viaJSON, err)
		}
	})
}
