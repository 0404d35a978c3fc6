package personal

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Subjects: whose personal data a value is. Destroying a subject's key erases every value
// sealed under it. A subject is a kind, a dot and a name escaped by EscapeName.
const (
	KindAccount  = "account"
	KindUnknown  = "unknown"
	KindAddress  = "address"
	KindProperty = "property"
	// KindStream is the fallback of a stream that names no subject (StreamSubject).
	KindStream = "stream"
)

// AccountSubject is the subject of an account's personal data: its e-mail address (on
// its own stream and on the address's reservation and skeleton streams) and the origins
// of its sign-ins. Erasing an account destroys this subject.
func AccountSubject(id string) string { return KindAccount + "." + EscapeName(id) }

// UnknownSubject is the subject of the sign-ins on an address with no account, named by
// the address's pseudonym (the unknown-email stream's name).
func UnknownSubject(pseudonym string) string { return KindUnknown + "." + EscapeName(pseudonym) }

// AddressSubject is the subject of a client address's throttle stream.
func AddressSubject(address string) string { return KindAddress + "." + EscapeName(address) }

// PropertySubject is the subject of a property's contacts and of its detections.
func PropertySubject(id string) string { return KindProperty + "." + EscapeName(id) }

// StreamSubject is the subject of a stream that names none of the above: the fallback. A
// write is never refused for it (a new kind of stream must not fail its appends) and its
// personal values are still sealed, never stored in clear; they are erased by destroying
// this subject. The name is a hash so a stream name does not leak through the key store.
func StreamSubject(stream string) string {
	sum := sha256.Sum256([]byte(stream))
	return KindStream + "." + hex.EncodeToString(sum[:16])
}

// EscapeName escapes a name for a subject: every byte outside [A-Za-z0-9._-] becomes %XX
// (upper-case hex), so a subject never holds the token's ':' separator, a JSON escape or
// an HTML-sensitive byte (IPv6 "2001:db8::1" is "2001%3Adb8%3A%3A1").
func EscapeName(name string) string {
	n := 0
	for i := 0; i < len(name); i++ {
		if !subjectByte(name[i]) {
			n++
		}
	}
	if n == 0 {
		return name
	}
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(name) + 2*n)
	for i := 0; i < len(name); i++ {
		c := name[i]
		if subjectByte(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

func subjectByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-'
}

// Stream name prefixes, as domain names its streams (domain/email.go, throttle.go,
// detection.go).
const (
	prefixAccount    = "account-"
	prefixEmail      = "email-" // reservation and skeleton streams: the subject is in the data
	prefixUnknown    = "unknown-email-"
	prefixAddress    = "address-"
	prefixProperty   = "property-"
	prefixDetections = "detections-property-"
)

// SubjectOf is the subject of the personal values of an event of stream. accountID is the
// event data's top-level account_id member ("" when absent), which names the subject of an
// e-mail reservation or skeleton stream (their names are hashes of the address).
func SubjectOf(stream, accountID string) string {
	switch {
	case strings.HasPrefix(stream, prefixAccount) && len(stream) > len(prefixAccount):
		return AccountSubject(stream[len(prefixAccount):])
	case strings.HasPrefix(stream, prefixEmail) && accountID != "":
		return AccountSubject(accountID)
	case strings.HasPrefix(stream, prefixUnknown) && len(stream) > len(prefixUnknown):
		return UnknownSubject(stream[len(prefixUnknown):])
	case strings.HasPrefix(stream, prefixAddress) && len(stream) > len(prefixAddress):
		return AddressSubject(stream[len(prefixAddress):])
	case strings.HasPrefix(stream, prefixProperty) && len(stream) > len(prefixProperty):
		return PropertySubject(stream[len(prefixProperty):])
	case strings.HasPrefix(stream, prefixDetections) && len(stream) > len(prefixDetections):
		return PropertySubject(stream[len(prefixDetections):])
	}
	return StreamSubject(stream)
}
