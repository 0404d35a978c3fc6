package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/klauspost/compress/zstd"
)

// searchForms is every spelling of a personal value that a search of the data directory
// could find: the text in any letter case, as JSON escapes it, URL-encoded, in UTF-16 (how
// some tools store text), hex, base64 at each of its three alignments inside a longer
// encoding, and an unkeyed SHA-256 (the stream names of the past). A keyed pseudonym is
// not a form: finding it needs the server's key.
func searchForms(value string) map[string][]byte {
	forms := map[string][]byte{
		"text":       []byte(value),
		"upper case": []byte(strings.ToUpper(value)),
		"lower case": []byte(strings.ToLower(value)),
		"url":        []byte(url.QueryEscape(value)),
		"json \\u":   []byte(strings.ReplaceAll(value, "@", `\u0040`)),
		"hex":        []byte(hex.EncodeToString([]byte(value))),
		"HEX":        []byte(strings.ToUpper(hex.EncodeToString([]byte(value)))),
	}
	var u16 []byte
	for _, r := range utf16.Encode([]rune(value)) {
		u16 = append(u16, byte(r), byte(r>>8))
	}
	forms["utf-16le"] = u16
	sum := sha256.Sum256([]byte(strings.ToLower(value)))
	forms["sha-256"] = []byte(hex.EncodeToString(sum[:16]))
	for shift := range 3 {
		for name, enc := range map[string]*base64.Encoding{"base64": base64.StdEncoding, "base64url": base64.RawURLEncoding} {
			padded := enc.EncodeToString(append(make([]byte, shift), value...))
			// Only the characters whose six bits all come from the value match it
			// wherever it sits in a longer encoding with this alignment.
			start, end := (8*shift+5)/6, 8*(shift+len(value))/6
			forms[fmt.Sprintf("%s shift %d", name, shift)] = []byte(padded[start:end])
		}
	}
	return forms
}

// personalDataIn lists, as "file: form of value", every file under dir holding a value in
// one of its searchForms. Compressed files (gzip, zstd: the archive's segments) are
// searched decompressed as well.
func personalDataIn(t *testing.T, dir string, values ...string) []string {
	t.Helper()
	var hits []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		contents := [][]byte{raw}
		if plain := decompressed(raw); plain != nil {
			contents = append(contents, plain)
		}
		rel, _ := filepath.Rel(dir, path)
		for _, v := range values {
			for form, needle := range searchForms(v) {
				for _, c := range contents {
					if bytes.Contains(bytes.ToLower(c), bytes.ToLower(needle)) {
						hits = append(hits, rel+": "+form+" of "+v)
						break
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

func decompressed(b []byte) []byte {
	var r io.Reader
	switch {
	case bytes.HasPrefix(b, []byte{0x1f, 0x8b}):
		z, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil
		}
		z.Multistream(true)
		r = z
	case bytes.HasPrefix(b, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		z, err := zstd.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil
		}
		defer z.Close()
		r = z
	default:
		return nil
	}
	out, _ := io.ReadAll(r)
	return out
}

func TestSearchFormsFindEveryEncoding(t *testing.T) {
	const email = "Marie.Curie@hotel-lutetia.example"
	dir := t.TempDir()
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("clean", []byte("nothing here but marie.curie@ and hotel-lutetia"))
	if hits := personalDataIn(t, dir, email); len(hits) != 0 {
		t.Fatalf("clean files: %v", hits)
	}
	for i, b := range [][]byte{
		[]byte("x" + base64.StdEncoding.EncodeToString([]byte("To: "+email+"\r\n"))),
		[]byte("y" + base64.StdEncoding.EncodeToString([]byte("T: "+email+"\r\n"))),
		[]byte("z" + base64.StdEncoding.EncodeToString([]byte(": "+email+"\r\n"))),
	} {
		write("b64-"+string(rune('a'+i)), b)
	}
	var gz bytes.Buffer
	z := gzip.NewWriter(&gz)
	_, _ = z.Write([]byte(`{"email":"` + strings.ToLower(email) + `"}`))
	_ = z.Close()
	write("segment.gz", gz.Bytes())
	hits := personalDataIn(t, dir, email)
	for _, want := range []string{"b64-a", "b64-b", "b64-c", "segment.gz"} {
		found := false
		for _, h := range hits {
			found = found || strings.HasPrefix(h, want+":")
		}
		if !found {
			t.Errorf("%s: not found (hits %v)", want, hits)
		}
	}
}
