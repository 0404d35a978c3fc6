package evidence

import (
	"archive/zip"
	"bytes"
	"context"
	"testing"
)

// The offline verifier reads files an attacker hands it: whatever the bytes, it answers
// with an error or a verdict, never a panic, and never accepts a bundle that is not a zip.
func FuzzVerify(f *testing.F) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range []string{"manifest.json", "manifest.json", "checkpoint", "events.jsonl"} {
		w, _ := zw.Create(name)
		w.Write([]byte(`{"format":"accountd-evidence/2","files":[{"name":"../../etc/passwd"}]}`))
	}
	zw.Close()
	f.Add(buf.Bytes())
	f.Add([]byte("PK\x03\x04 not really a zip"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := Verify(context.Background(), bytes.NewReader(data), int64(len(data)), VerifyOptions{})
		if err == nil {
			t.Fatalf("a %d-byte bundle verified with no key pinned and no events", len(data))
		}
	})
}
