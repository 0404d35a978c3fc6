// Package personal seals the personal data of events under keys kept outside the log
// (crypto-shredding), so that a person can be erased, and old IP addresses and browsers
// dropped, by destroying keys: no stored event is rewritten, and the hash chain, the
// transparency log's leaves and every proof, which commit to the stored bytes, stay valid.
//
// Seal(inner, keys) is an eventstore.Store. On Append it replaces the value of every
// personal member of an event's data (transparency.PersonalFields, at any depth, a string
// or each string of an array; an empty string, a number, null or an object stays as it
// is) by a token; on every read it replaces each token by its plaintext, or by
// domain.Erased ("[erased]") when its key was destroyed. Everything else in the payload
// keeps its bytes. A payload that names a personal member but is not JSON is refused
// (eventstore.ErrInvalidEvent) rather than stored in clear. The transparency log, chain
// verification and evidence proofs read the inner store.
//
// # Subjects and periods
//
// A subject is whose data a value is: account.<id> (an account's stream, and the e-mail
// reservation and skeleton streams, named by their data's account_id), unknown.<pseudonym>
// (unknown-email-<pseudonym>), address.<address> (address-<address>), property.<id>
// (property-<id> and detections-property-<id>), and, for any other stream, stream.<the hex
// of the first 16 bytes of SHA-256(stream name)>: such values are sealed too, never stored
// in clear, and never refused. Names are escaped by EscapeName: every byte outside
// [A-Za-z0-9._-] as %XX.
//
// The members email, primary_contact_email and email_hash are sealed under the subject's
// key: they go when the subject is erased. The members ip, user_agent, device_id,
// addresses and devices are sealed under a key derived from the subject's key and the key
// of the period, the UTC month ("2006-01") of the event metadata's occurred_at: they go
// when either is destroyed (erasure, or retention: DestroyPeriodsBefore). An event whose
// metadata has no occurred_at (none written by accountd's codec) seals them under the
// subject alone, period "-".
//
// # Token format (version 1)
//
// A token is ASCII, with no byte JSON or HTML escapes, so it is found in the stored JSON by
// a byte search:
//
//	sealed.v1:<member>:<subject>:<period>:<payload>
//
// member is the JSON member name (e.g. "ip"; an element of an array carries the array's
// name), subject as above, period "YYYY-MM" or "-", payload the unpadded base64url
// (RFC 4648 §5) of nonce (12 bytes) || AES-256-GCM ciphertext and 16-byte tag. An empty
// payload is the token of a value appended after its key was destroyed: it holds nothing.
//
// Keys, all HMAC-SHA256 (RFC 2104), strings as their UTF-8 bytes, 0x00 a zero byte:
//
//	Ks = the subject's key (32 random bytes), Kp = the period's key (32 random bytes)
//	K  = Ks                                                           when period is "-"
//	K  = HMAC(Kp, "accountd personal period key v1" 0x00 || subject || 0x00 || Ks)  otherwise
//	Kenc   = HMAC(K, "accountd personal encryption key v1")    the AES-256 key
//	Knonce = HMAC(K, "accountd personal nonce key v1")
//	AAD    = "accountd personal v1" 0x00 || event ID (16 bytes) || member || 0x00
//	         || subject || 0x00 || period
//	nonce  = the first 12 bytes of HMAC(Knonce, AAD || 0x00 || plaintext)
//	payload = nonce || AES-256-GCM-Seal(Kenc, nonce, plaintext, AAD)
//
// plaintext is the value's string (UTF-8, JSON escapes decoded). The nonce is synthetic
// (as in SIV): sealing the same value of the same event again gives the same bytes, so an
// exact retry of an append stores exactly what the first one did, and a nonce only ever
// repeats with the very same message. The AAD binds the token to its event and member:
// copied into another event it does not open.
//
// # Reading
//
// A read looks for the bytes `"sealed.v1:` where a JSON string value opens (after ':',
// '[' or ','), takes the string to the next '"', and opens it. A token whose member is not
// a personal field, whose subject or period has no key (it was never made here), or that
// does not authenticate is left exactly as stored; one whose subject or period key was
// destroyed reads as "[erased]". The result is valid JSON: the token's literal is replaced
// by the plaintext's JSON string. Events with no token pay a byte search.
//
// # Keys
//
// Keys is the key store (Memory, SQLite, Postgres), kept apart from the log and its
// backups. A destroyed key leaves a tombstone: no key is ever made again for that subject
// or a month before the retention floor, so later appends for them store empty tokens.
// Cache bounds look-ups in number and in time (DefaultCacheTTL): a destroy on another node
// takes effect here within the TTL.
package personal
