package personal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"

	"github.com/google/uuid"
)

// TokenPrefix begins every sealed token (doc.go has the whole format).
const TokenPrefix = "sealed.v1:"

// NoPeriod is the period field of a token sealed under its subject's key alone.
const NoPeriod = "-"

// Domain-separation strings of the derivations (doc.go).
const (
	periodKeyDomain = "accountd personal period key v1\x00"
	encKeyDomain    = "accountd personal encryption key v1"
	nonceKeyDomain  = "accountd personal nonce key v1"
	aadDomain       = "accountd personal v1\x00"
)

const (
	nonceSize = 12
	tagSize   = 16
)

var b64 = base64.RawURLEncoding

// sealer seals and opens the values of one (subject, period): its derived keys.
type sealer struct {
	aead     cipher.AEAD
	nonceKey []byte
}

// baseKey is the key a value is sealed under: the subject's key, or for a period the HMAC
// of the period key over the subject and the subject's key, so that destroying either
// key erases the value.
func baseKey(subjectKey, periodKey []byte, subject string) []byte {
	if periodKey == nil {
		return subjectKey
	}
	m := hmac.New(sha256.New, periodKey)
	m.Write([]byte(periodKeyDomain))
	m.Write([]byte(subject))
	m.Write([]byte{0})
	m.Write(subjectKey)
	return m.Sum(nil)
}

func hmacSum(key []byte, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

func newSealer(subjectKey, periodKey []byte, subject string) (*sealer, error) {
	return sealerOf(baseKey(subjectKey, periodKey, subject))
}

// sealerOf is the sealer of K, the key a value is sealed under (doc.go).
func sealerOf(k []byte) (*sealer, error) {
	block, err := aes.NewCipher(hmacSum(k, []byte(encKeyDomain)))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead, nonceKey: hmacSum(k, []byte(nonceKeyDomain))}, nil
}

// appendAAD appends the associated data: domain || event ID (16 bytes) || member 0x00 ||
// subject 0x00 || period. It binds a token to the event and member it was made for, so a
// token copied into another event (or another member) does not open.
func appendAAD[S string | []byte](b []byte, id uuid.UUID, member, subject, period S) []byte {
	b = append(b, aadDomain...)
	b = append(b, id[:]...)
	b = append(b, member...)
	b = append(b, 0)
	b = append(b, subject...)
	b = append(b, 0)
	b = append(b, period...)
	return b
}

// seal appends the token of plaintext (without quotes) to dst. The nonce is synthetic,
// HMAC(nonce key, AAD || 0x00 || plaintext): the same event sealed again gives the same
// bytes (an exact retry stores nothing different), and a nonce repeats only with its
// whole input, so AES-GCM never sees one nonce with two messages.
func (s *sealer) seal(dst, scratch []byte, id uuid.UUID, member, subject, period string, plaintext []byte) ([]byte, []byte) {
	ad := appendAAD(scratch[:0], id, member, subject, period)
	m := hmac.New(sha256.New, s.nonceKey)
	m.Write(ad)
	m.Write([]byte{0})
	m.Write(plaintext)
	sum := m.Sum(nil)
	raw := make([]byte, 0, nonceSize+len(plaintext)+tagSize)
	raw = append(raw, sum[:nonceSize]...)
	raw = s.aead.Seal(raw, sum[:nonceSize], plaintext, ad)
	dst = appendTokenHead(dst, member, subject, period)
	dst = b64.AppendEncode(dst, raw)
	return dst, ad
}

func appendTokenHead(dst []byte, member, subject, period string) []byte {
	dst = append(dst, TokenPrefix...)
	dst = append(dst, member...)
	dst = append(dst, ':')
	dst = append(dst, subject...)
	dst = append(dst, ':')
	dst = append(dst, period...)
	return append(dst, ':')
}

// erasedToken is the token of a value appended after its key was destroyed: the head with
// no payload. It holds nothing, and reads as erased (the key is gone).
func erasedToken(dst []byte, member, subject, period string) []byte {
	return appendTokenHead(dst, member, subject, period)
}

// open returns the plaintext of the token's payload, or false when it does
// not authenticate. raw and ad are scratch buffers, returned for reuse.
func (s *sealer) open(raw, ad []byte, id uuid.UUID, t token) (plain, rawOut, adOut []byte, ok bool) {
	raw, err := b64.AppendDecode(raw[:0], t.payload)
	if err != nil || len(raw) < nonceSize+tagSize {
		return nil, raw, ad, false
	}
	ad = appendAAD(ad[:0], id, t.member, t.subject, t.period)
	plain, err = s.aead.Open(raw[nonceSize:nonceSize], raw[:nonceSize], raw[nonceSize:], ad)
	if err != nil {
		return nil, raw, ad, false
	}
	return plain, raw, ad, true
}

// token is a parsed token: its fields as they are written.
type token struct {
	member, subject, period []byte
	payload                 []byte
}

// parseToken parses text (the bytes between the quotes) as a token.
func parseToken(text []byte) (token, bool) {
	rest, ok := bytes.CutPrefix(text, []byte(TokenPrefix))
	if !ok {
		return token{}, false
	}
	var t token
	var found bool
	if t.member, rest, found = bytes.Cut(rest, []byte{':'}); !found || len(t.member) == 0 {
		return token{}, false
	}
	if t.subject, rest, found = bytes.Cut(rest, []byte{':'}); !found || len(t.subject) == 0 {
		return token{}, false
	}
	if t.period, t.payload, found = bytes.Cut(rest, []byte{':'}); !found || len(t.period) == 0 {
		return token{}, false
	}
	for _, c := range t.payload {
		if !base64URL[c] {
			return token{}, false
		}
	}
	return t, true
}

var base64URL = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") {
		t[c] = true
	}
	return t
}()
