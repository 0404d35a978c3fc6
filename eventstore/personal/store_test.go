package personal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"accountd/domain"
	"accountd/eventstore"
	"accountd/eventstore/eventlog"
	"accountd/eventstore/eventstoretest"
	"accountd/eventstore/memory"
	"accountd/eventstore/personal"
	"accountd/eventstore/transparency"
)

func TestConformanceOverMemory(t *testing.T) {
	eventstoretest.Test(t, func(t *testing.T) eventstore.Store {
		s := personal.Seal(memory.New(), personal.NewMemory())
		t.Cleanup(func() { s.Close() })
		return s
	})
}

var (
	jan = time.Date(2026, 1, 15, 9, 30, 0, 0, time.UTC)
	mar = time.Date(2026, 3, 2, 18, 0, 0, 0, time.UTC)
)

// Plaintexts, each distinct so a search for it finds nothing else.
const (
	email     = "marie.curie@hotel-example.fr"
	contact   = "direction@hotel-example.fr"
	billing   = "factures@hotel-example.fr"
	emailHash = "pseudonym-0f3c9a"
	ip1       = "203.0.113.77"
	ip2       = "198.51.100.23"
	agent     = "Mozilla/5.0 (X11; Linux) Firefox/140.0 \"quoted\" <b>&"
	device    = "device-7c21-aa"
)

var origin = domain.Origin{IP: ip1, UserAgent: agent, DeviceID: device}

// personalEvents has an event of every type with a personal member, on the stream it is
// written to (TestEveryPersonalEventTypeIsCovered keeps it complete).
func personalEvents(at time.Time) []struct {
	stream string
	p      domain.Payload
} {
	evidence := domain.Evidence{Addresses: []string{ip1, ip2}, Devices: []string{device}}
	return []struct {
		stream string
		p      domain.Payload
	}{
		{"account-A1", domain.AccountRegistered{AccountID: "A1", Email: email, PasswordHash: "$argon2id$x"}},
		{"account-A1", domain.LoginSucceeded{Origin: origin, SessionID: "s1"}},
		{"account-A1", domain.LoginFailed{Origin: origin, Reason: "password", FailedAttempts: 1}},
		{"account-A1", domain.LoginRejected{Origin: origin, Reasons: []string{"locked"}}},
		{"account-A1", domain.MFACodeRejected{Origin: origin, FailedAttempts: 1}},
		{"account-A1", domain.SuspiciousActivityDetected{Rule: "r", Evidence: evidence, Action: "disable"}},
		{domain.EmailStream(email), domain.EmailReserved{Email: email, AccountID: "A1"}},
		{domain.EmailSkeletonStream(email), domain.EmailSkeletonClaimed{Email: email, AccountID: "A1"}},
		{domain.UnknownEmailStream(emailHash), domain.UnknownEmailLoginFailed{EmailHash: emailHash, Origin: origin, FailedAttempts: 1}},
		{domain.UnknownEmailStream(emailHash), domain.LinkRequestDeclined{EmailHash: emailHash, Link: "reset", Reason: "no_account"}},
		{"property-P1", domain.PropertyCreated{PropertyID: "P1", Name: "Hôtel", PrimaryContactEmail: contact}},
		{"property-P1", domain.BillingContactAdded{Email: billing}},
		{domain.AddressStream(ip1), domain.AddressThrottled{IP: ip1, Until: at.Add(time.Hour), Rule: "r", Evidence: evidence}},
		{domain.PropertyDetectionStream("P1"), domain.PropertyAttackDetected{PropertyID: "P1", Rule: "r", Evidence: evidence, Action: "review"}},
	}
}

var plaintexts = []string{email, contact, billing, emailHash, ip1, ip2, device, "Firefox/140.0"}

type fixture struct {
	inner  *memory.Store
	keys   *personal.Memory
	sealed *personal.Store
}

func newFixture() fixture {
	inner, keys := memory.New(), personal.NewMemory()
	return fixture{inner: inner, keys: keys, sealed: personal.Seal(inner, keys)}
}

// appendAll appends every personal event at at, one command each, returning what was
// appended (for retries).
func (f fixture) appendAll(t *testing.T, at time.Time) [][]eventstore.EventData {
	t.Helper()
	var sent [][]eventstore.EventData
	for i, e := range personalEvents(at) {
		data, err := eventlog.Encode(e.stream, domain.Metadata{CommandID: "cmd-" + at.Format("01") + "-" + string(rune('a'+i))}, []domain.Event{{At: at, Data: e.p}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.sealed.Append(t.Context(), e.stream, eventstore.Any, data...); err != nil {
			t.Fatalf("append %s: %v", data[0].Type, err)
		}
		sent = append(sent, data)
	}
	return sent
}

func readAll(t *testing.T, s eventstore.Store) []eventstore.RecordedEvent {
	t.Helper()
	recs, err := s.ReadAll(t.Context(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestStoredBytesHoldNoPlaintext(t *testing.T) {
	f := newFixture()
	f.appendAll(t, jan)
	stored := readAll(t, f.inner)
	want := personalEvents(jan)
	if len(stored) != len(want) {
		t.Fatalf("%d stored events; want %d", len(stored), len(want))
	}
	for _, r := range stored {
		for _, p := range plaintexts {
			if strings.Contains(r.Stream, p) {
				// The stream's own name holds it (address-<ip>, unknown-email-<pseudonym>),
				// and so does its subject in the token: no new copy. Streams named by a
				// pseudonym instead fix both.
				continue
			}
			if bytes.Contains(r.Data, []byte(p)) || bytes.Contains(r.Metadata, []byte(p)) {
				t.Errorf("%s: stored data holds %q: %s", r.Type, p, r.Data)
			}
		}
		if !bytes.Contains(r.Data, []byte(personal.TokenPrefix)) {
			t.Errorf("%s: no token stored: %s", r.Type, r.Data)
		}
		if !json.Valid(r.Data) {
			t.Errorf("%s: stored data is not JSON: %s", r.Type, r.Data)
		}
	}
	// Read through the seal, every event decodes to what was appended.
	for i, r := range readAll(t, f.sealed) {
		d, err := eventlog.Decode(r)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(d.Event.Data, want[i].p) {
			t.Errorf("%s read back as %+v; want %+v", r.Type, d.Event.Data, want[i].p)
		}
	}
}

// TestEveryPersonalEventTypeIsCovered fails when an event type gains a personal member
// (at any depth) without an entry in personalEvents.
func TestEveryPersonalEventTypeIsCovered(t *testing.T) {
	covered := map[string]bool{}
	for _, e := range personalEvents(jan) {
		covered[e.p.EventType()] = true
	}
	personalNames := map[string]bool{}
	for _, f := range transparency.PersonalFields {
		personalNames[f] = true
	}
	for _, typ := range domain.EventTypes() {
		p, err := domain.DecodePayload(typ, []byte(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		if hasPersonal(reflect.TypeOf(p), personalNames, 0) && !covered[typ] {
			t.Errorf("%s has a personal member and no case in personalEvents", typ)
		}
	}
}

func hasPersonal(t reflect.Type, names map[string]bool, depth int) bool {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || depth > 5 {
		return false
	}
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if names[name] || hasPersonal(t.Field(i).Type, names, depth+1) {
			return true
		}
	}
	return false
}

func leafHashes(recs []eventstore.RecordedEvent) []string {
	var out []string
	for _, r := range recs {
		h := transparency.LeafHash(transparency.LeafBytes(r))
		out = append(out, h.String())
	}
	return out
}

func TestDestroySubjectErasesAndChangesNoStoredByte(t *testing.T) {
	f := newFixture()
	f.appendAll(t, jan)
	before := readAll(t, f.inner)
	leavesBefore := leafHashes(before)
	if err := f.sealed.DestroySubject(t.Context(), personal.AccountSubject("A1")); err != nil {
		t.Fatal(err)
	}
	after := readAll(t, f.inner)
	if !reflect.DeepEqual(before, after) {
		t.Fatal("a destroy changed stored events")
	}
	if l := leafHashes(after); !slices.Equal(l, leavesBefore) {
		t.Fatal("a destroy changed a transparency leaf hash")
	}
	for _, r := range readAll(t, f.sealed) {
		d, err := eventlog.Decode(r)
		if err != nil {
			t.Fatal(err)
		}
		text, _ := json.Marshal(d.Event.Data)
		onAccount := strings.HasPrefix(r.Stream, "account-") || strings.HasPrefix(r.Stream, "email-")
		for _, p := range plaintexts {
			if onAccount && bytes.Contains(text, []byte(p)) {
				t.Errorf("%s on %s still reads %q after erasure: %s", r.Type, r.Stream, p, text)
			}
		}
		if onAccount && !bytes.Contains(text, []byte(domain.Erased)) {
			t.Errorf("%s on %s: no %s: %s", r.Type, r.Stream, domain.Erased, text)
		}
		if !onAccount && bytes.Contains(text, []byte(domain.Erased)) {
			t.Errorf("%s on %s (another subject) erased too: %s", r.Type, r.Stream, text)
		}
	}
	// The account's registration keeps what is not personal.
	recs, err := f.sealed.ReadStream(t.Context(), "account-A1", 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := eventlog.Decode(recs[0])
	if reg := d.Event.Data.(domain.AccountRegistered); reg.Email != domain.Erased || reg.AccountID != "A1" || reg.PasswordHash != "$argon2id$x" {
		t.Fatalf("registration after erasure: %+v", reg)
	}
}

func TestDestroyPeriodErasesOriginsKeepsEmail(t *testing.T) {
	f := newFixture()
	f.appendAll(t, jan)
	f.appendAll(t, mar)
	n, err := f.sealed.Keys().DestroyPeriodsBefore(t.Context(), "2026-02")
	if err != nil || n != 1 {
		t.Fatalf("destroy periods: %d, %v; want 1", n, err)
	}
	for _, r := range readAll(t, f.sealed) {
		d, err := eventlog.Decode(r)
		if err != nil {
			t.Fatal(err)
		}
		old := d.Event.At.Before(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
		switch p := d.Event.Data.(type) {
		case domain.LoginSucceeded:
			want := origin
			if old {
				want = domain.Origin{IP: domain.Erased, UserAgent: domain.Erased, DeviceID: domain.Erased}
			}
			if p.Origin != want {
				t.Errorf("login of %s: origin %+v; want %+v", d.Event.At.Format("2006-01"), p.Origin, want)
			}
		case domain.AccountRegistered:
			if p.Email != email {
				t.Errorf("registration of %s: email %q; want it kept", d.Event.At.Format("2006-01"), p.Email)
			}
		case domain.AddressThrottled:
			if wantIP := map[bool]string{true: domain.Erased, false: ip1}[old]; p.IP != wantIP || p.Evidence.Addresses[0] != wantIP {
				t.Errorf("throttle of %s: %+v; want ip %q", d.Event.At.Format("2006-01"), p, wantIP)
			}
		case domain.UnknownEmailLoginFailed:
			if p.EmailHash != emailHash {
				t.Errorf("unknown address of %s: hash %q; want it kept", d.Event.At.Format("2006-01"), p.EmailHash)
			}
		}
	}
	// A retried (or late) event of a destroyed month stores nothing readable.
	late, _ := eventlog.Encode("account-A2", domain.Metadata{CommandID: "late"}, []domain.Event{{At: jan, Data: domain.LoginSucceeded{Origin: origin}}})
	if _, err := f.sealed.Append(t.Context(), "account-A2", eventstore.Any, late...); err != nil {
		t.Fatal(err)
	}
	stored, _ := f.inner.ReadStream(t.Context(), "account-A2", 0, 1)
	if bytes.Contains(stored[0].Data, []byte(ip1)) {
		t.Fatalf("late event of a destroyed month stored in clear: %s", stored[0].Data)
	}
	read, _ := f.sealed.ReadStream(t.Context(), "account-A2", 0, 1)
	d, _ := eventlog.Decode(read[0])
	if got := d.Event.Data.(domain.LoginSucceeded).Origin.IP; got != domain.Erased {
		t.Fatalf("late event of a destroyed month reads %q", got)
	}
}

func TestExactRetryIsRecognised(t *testing.T) {
	f := newFixture()
	sent := f.appendAll(t, jan)
	head, _ := f.inner.HeadPosition(t.Context())
	stored := readAll(t, f.inner)
	for i, data := range sent {
		res, err := f.sealed.Append(t.Context(), personalEvents(jan)[i].stream, eventstore.NoStream, data...)
		if err != nil && i > 0 && personalEvents(jan)[i-1].stream == personalEvents(jan)[i].stream {
			continue // NoStream fails on a stream already holding an earlier event of the table
		}
		if err != nil {
			t.Fatalf("retry of %s: %v", data[0].Type, err)
		}
		if res.LastPosition() != stored[i].Position {
			t.Fatalf("retry of %s: position %d; want %d", data[0].Type, res.LastPosition(), stored[i].Position)
		}
	}
	if h, _ := f.inner.HeadPosition(t.Context()); h != head {
		t.Fatalf("retries stored events: head %d; want %d", h, head)
	}
	// The same events sealed into another log with the same keys give the same bytes.
	other := memory.New()
	again := personal.Seal(other, f.keys)
	for i, data := range sent {
		if _, err := again.Append(t.Context(), personalEvents(jan)[i].stream, eventstore.Any, data...); err != nil {
			t.Fatal(err)
		}
	}
	for i, r := range readAll(t, other) {
		if !bytes.Equal(r.Data, stored[i].Data) {
			t.Fatalf("%s sealed twice differs:\n%s\n%s", r.Type, r.Data, stored[i].Data)
		}
	}
}

func TestHostileInputOpensNothingElse(t *testing.T) {
	f := newFixture()
	f.appendAll(t, jan)
	stored := readAll(t, f.inner)
	// A token of the account's e-mail, as stored.
	var reg map[string]any
	_ = json.Unmarshal(stored[0].Data, &reg)
	victimToken := reg["email"].(string)
	if !strings.HasPrefix(victimToken, personal.TokenPrefix) {
		t.Fatalf("not a token: %q", victimToken)
	}
	forged := personal.TokenPrefix + "email:account.A1:-:" + strings.Repeat("A", 40)
	cases := []struct {
		name   string
		stream string
		p      domain.Payload
		// what the reader must see in place of the hostile value
		check func(domain.Payload) string
	}{
		{"another subject's token as a user agent", "account-MAL",
			domain.LoginFailed{Origin: domain.Origin{IP: ip2, UserAgent: victimToken}},
			func(p domain.Payload) string { return p.(domain.LoginFailed).Origin.UserAgent }},
		{"another event's token in a member that is not personal", "account-MAL",
			domain.LoginFailed{Origin: domain.Origin{IP: ip2}, Reason: victimToken},
			func(p domain.Payload) string { return p.(domain.LoginFailed).Reason }},
		{"a forged token in a member that is not personal", "account-MAL",
			domain.LoginFailed{Origin: domain.Origin{IP: ip2}, Reason: forged},
			func(p domain.Payload) string { return p.(domain.LoginFailed).Reason }},
		{"a token in an array that is not personal", "account-MAL",
			domain.LoginRejected{Origin: domain.Origin{IP: ip2}, Reasons: []string{victimToken}},
			func(p domain.Payload) string { return p.(domain.LoginRejected).Reasons[0] }},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data, _ := eventlog.Encode(c.stream, domain.Metadata{CommandID: "hostile-" + string(rune('a'+i))}, []domain.Event{{At: jan, Data: c.p}})
			if _, err := f.sealed.Append(t.Context(), c.stream, eventstore.Any, data...); err != nil {
				t.Fatal(err)
			}
			recs, err := f.sealed.ReadStream(t.Context(), c.stream, uint64(i), 1)
			if err != nil {
				t.Fatal(err)
			}
			d, err := eventlog.Decode(recs[0])
			if err != nil {
				t.Fatal(err)
			}
			got := c.check(d.Event.Data)
			if strings.Contains(got, email) {
				t.Fatalf("the hostile value opened the victim's e-mail: %q", got)
			}
			if want := c.check(c.p); got != want {
				t.Fatalf("read %q; want the value as sent, %q", got, want)
			}
		})
	}
	// And the victim's own data still opens.
	recs, _ := f.sealed.ReadStream(t.Context(), "account-A1", 0, 1)
	if d, _ := eventlog.Decode(recs[0]); d.Event.Data.(domain.AccountRegistered).Email != email {
		t.Fatalf("victim's e-mail: %+v", d.Event.Data)
	}
}

func TestSubjects(t *testing.T) {
	cases := []struct {
		stream, accountID, want string
	}{
		{"account-A1", "", "account.A1"},
		{domain.EmailStream(email), "A1", "account.A1"},
		{domain.EmailSkeletonStream(email), "A1", "account.A1"},
		{"unknown-email-abc", "", "unknown.abc"},
		{"address-2001:db8::1", "", "address.2001%3Adb8%3A%3A1"},
		{"property-P1", "", "property.P1"},
		{"detections-property-P1", "", "property.P1"},
		{"account-", "", personal.StreamSubject("account-")},
		{domain.EmailStream(email), "", personal.StreamSubject(domain.EmailStream(email))},
		{"policy", "", personal.StreamSubject("policy")},
	}
	for _, c := range cases {
		got := personal.SubjectOf(c.stream, c.accountID)
		if got != c.want {
			t.Errorf("SubjectOf(%q, %q) = %q; want %q", c.stream, c.accountID, got, c.want)
		}
		if err := personal.CheckSubject(got); err != nil {
			t.Errorf("SubjectOf(%q) = %q: %v", c.stream, got, err)
		}
	}
}

// TestFallbackSubjectSealsAndErases: a stream that names no subject still has its
// personal values sealed, under its stream subject, and erased with it.
func TestFallbackSubjectSealsAndErases(t *testing.T) {
	f := newFixture()
	ev := eventstore.EventData{ID: uuid.New(), Type: "note.v1", Data: []byte(`{"deep":{"email":"` + email + `","list":[{"ip":"` + ip1 + `"}]}}`)}
	if _, err := f.sealed.Append(t.Context(), "misc-stream", eventstore.Any, ev); err != nil {
		t.Fatal(err)
	}
	stored := readAll(t, f.inner)[0]
	if bytes.Contains(stored.Data, []byte(email)) || bytes.Contains(stored.Data, []byte(ip1)) {
		t.Fatalf("stored in clear: %s", stored.Data)
	}
	if got := readAll(t, f.sealed)[0].Data; !bytes.Equal(got, ev.Data) {
		t.Fatalf("read %s; want %s", got, ev.Data)
	}
	if err := f.sealed.DestroySubject(t.Context(), personal.StreamSubject("misc-stream")); err != nil {
		t.Fatal(err)
	}
	want := `{"deep":{"email":"[erased]","list":[{"ip":"[erased]"}]}}`
	if got := readAll(t, f.sealed)[0].Data; string(got) != want {
		t.Fatalf("after destroy: %s; want %s", got, want)
	}
}

func TestAppendAfterDestroyStoresNothingReadable(t *testing.T) {
	f := newFixture()
	if err := f.keys.DestroySubject(t.Context(), personal.AccountSubject("A1")); err != nil {
		t.Fatal(err)
	}
	f.appendAll(t, jan)
	for _, r := range readAll(t, f.inner) {
		if strings.HasPrefix(r.Stream, "account-") {
			for _, p := range plaintexts {
				if bytes.Contains(r.Data, []byte(p)) {
					t.Errorf("%s stored %q for an erased subject", r.Type, p)
				}
			}
		}
	}
	recs, _ := f.sealed.ReadStream(t.Context(), "account-A1", 0, 1)
	if d, _ := eventlog.Decode(recs[0]); d.Event.Data.(domain.AccountRegistered).Email != domain.Erased {
		t.Fatalf("read %+v; want the e-mail erased", d.Event.Data)
	}
}

// TestPlaintextLogsStayReadable: events stored before sealing existed pass through.
func TestPlaintextLogsStayReadable(t *testing.T) {
	f := newFixture()
	cases := [][]byte{
		[]byte(`{"email":"` + email + `","origin":{"ip":"` + ip1 + `"}}`),
		[]byte(`not json "sealed.v1:email:account.A1:-:AAAA"`),
		[]byte(`{"email":"sealed.v1:email:account.NOKEY:-:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`),
		[]byte(`{"email":"sealed.v1:email:account.A1:2026-13:AAAA"}`),
		[]byte(`{"note":"a \"sealed.v1:email:account.A1:-:\" b"}`),
		nil,
	}
	for i, data := range cases {
		if _, err := f.inner.Append(t.Context(), "account-A1", eventstore.Any, eventstore.EventData{ID: uuid.New(), Type: "t", Data: data}); err != nil {
			t.Fatal(err)
		}
		_ = i
	}
	_ = f.keys.DestroySubject(t.Context(), "account.other")
	for i, r := range readAll(t, f.sealed) {
		if !bytes.Equal(r.Data, cases[i]) {
			t.Errorf("case %d read %q; want it unchanged", i, r.Data)
		}
	}
}

// failingKeys is a key store that cannot answer.
type failingKeys struct{ personal.Keys }

var errDown = errors.New("key store down")

func (failingKeys) SubjectKey(context.Context, string, bool) ([]byte, error) { return nil, errDown }

func TestKeyStoreDownFailsRatherThanLeaks(t *testing.T) {
	inner := memory.New()
	keys := personal.NewMemory()
	ok := personal.Seal(inner, keys)
	data, _ := eventlog.Encode("account-A1", domain.Metadata{CommandID: "c"}, []domain.Event{{At: jan, Data: domain.AccountRegistered{AccountID: "A1", Email: email}}})
	if _, err := ok.Append(t.Context(), "account-A1", eventstore.Any, data...); err != nil {
		t.Fatal(err)
	}
	down := personal.Seal(inner, failingKeys{keys})
	if _, err := down.ReadAll(t.Context(), 0, 0); !errors.Is(err, errDown) {
		t.Fatalf("read with the key store down: %v; want the failure", err)
	}
	data2, _ := eventlog.Encode("account-A2", domain.Metadata{CommandID: "d"}, []domain.Event{{At: jan, Data: domain.AccountRegistered{AccountID: "A2", Email: email}}})
	if _, err := down.Append(t.Context(), "account-A2", eventstore.Any, data2...); !errors.Is(err, errDown) {
		t.Fatalf("append with the key store down: %v; want the failure", err)
	}
	if h, _ := inner.HeadPosition(t.Context()); h != 1 {
		t.Fatalf("head %d: the failed append wrote", h)
	}
}

func TestCapabilitiesReachableThroughUnwrap(t *testing.T) {
	s := personal.Seal(memory.New(), personal.NewMemory())
	if _, ok := eventstore.As[eventstore.ChainVerifier](s); !ok {
		t.Error("ChainVerifier not found through the seal")
	}
	if _, ok := eventstore.As[eventstore.HashTree](s); !ok {
		t.Error("HashTree not found through the seal")
	}
	if _, ok := eventstore.As[eventstore.CommittedHeads](s); !ok {
		t.Error("CommittedHeads not found through the seal")
	}
	if f := eventstore.FeaturesOf(s); !f.GaplessPositions || !f.ExactIdempotency || f.HashChain || f.HashTree {
		t.Errorf("features %+v: want the inner's behaviour, not its interfaces", f)
	}
}

func TestRetention(t *testing.T) {
	cases := []struct {
		now    time.Time
		months int
		floor  string
		code   domain.Code
	}{
		{time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), 13, "2025-11", ""},
		{time.Date(2026, 12, 31, 23, 59, 0, 0, time.UTC), 13, "2025-11", ""}, // no AddDate overflow into December
		{time.Date(2026, 3, 31, 12, 0, 0, 0, time.FixedZone("x", 5*3600)), 12, "2025-03", ""},
		{time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), 11, "", personal.CodeRetentionTooShort},
		{time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), 0, "", personal.CodeRetentionTooShort},
	}
	for _, c := range cases {
		keys := personal.NewMemory()
		for _, m := range []string{"2025-01", "2025-02", "2025-10", "2025-11", "2025-12"} {
			_, _ = keys.PeriodKey(t.Context(), m, true)
		}
		floor, n, err := personal.ApplyRetention(t.Context(), keys, c.now, c.months)
		if domain.ErrorCode(err) != c.code || floor != c.floor {
			t.Errorf("%s, %d months: floor %q, %v; want %q, code %q", c.now, c.months, floor, err, c.floor, c.code)
			continue
		}
		if c.code != "" {
			if _, err := keys.PeriodKey(t.Context(), "2025-01", false); err != nil {
				t.Errorf("a refused retention destroyed keys: %v", err)
			}
			continue
		}
		for _, m := range []string{"2025-01", "2025-02", "2025-10", "2025-11", "2025-12"} {
			_, err := keys.PeriodKey(t.Context(), m, false)
			if gone := errors.Is(err, personal.ErrDestroyed); gone != (m < c.floor) {
				t.Errorf("%s after retention to %s: %v", m, c.floor, err)
			}
		}
		_ = n
	}
}

// TestPersonalMemberInBrokenJSONIsRefused: a payload that names a personal member but is
// not JSON cannot be sealed, so it is refused rather than stored in clear.
func TestPersonalMemberInBrokenJSONIsRefused(t *testing.T) {
	f := newFixture()
	for _, data := range []string{
		`{"email":"` + email + `"`,
		`{"email":"a\qb"}`,
		`{"email" "` + email + `"}`,
		`{"email":"` + email + `"} trailing`,
	} {
		_, err := f.sealed.Append(t.Context(), "account-A1", eventstore.Any, eventstore.EventData{ID: uuid.New(), Type: "t", Data: []byte(data)})
		if !errors.Is(err, eventstore.ErrInvalidEvent) {
			t.Errorf("%s: %v; want ErrInvalidEvent", data, err)
		}
	}
	if h, _ := f.inner.HeadPosition(t.Context()); h != 0 {
		t.Fatalf("head %d: a refused append wrote", h)
	}
}

// FuzzSealOpenRoundTrip: whatever a personal value holds (quotes, escapes, things that
// look like tokens, invalid UTF-8), it is stored without its plaintext as valid JSON and
// reads back as encoding/json would decode the original.
func FuzzSealOpenRoundTrip(f *testing.F) {
	for _, seed := range []string{agent, "", `"`, `\`, "sealed.v1:email:account.A1:-:AAAA", "\xff\xfe", "\u2028<>&", "a\"sealed.v1:ip:x:-:\"b"} {
		f.Add(seed, seed)
	}
	f.Fuzz(func(t *testing.T, ua, note string) {
		fx := newFixture()
		p := domain.LoginFailed{Origin: domain.Origin{IP: ip1, UserAgent: ua}, Reason: note}
		data, err := eventlog.Encode("account-F", domain.Metadata{CommandID: "fuzz"}, []domain.Event{{At: jan, Data: p}})
		if err != nil {
			t.Skip()
		}
		if _, err := fx.sealed.Append(t.Context(), "account-F", eventstore.Any, data...); err != nil {
			t.Fatal(err)
		}
		stored := readAll(t, fx.inner)[0]
		if !json.Valid(stored.Data) {
			t.Fatalf("stored data is not JSON: %s", stored.Data)
		}
		var want domain.LoginFailed
		_ = json.Unmarshal(data[0].Data, &want) // the original as a reader decodes it
		var kept domain.LoginFailed
		if err := json.Unmarshal(stored.Data, &kept); err != nil {
			t.Fatal(err)
		}
		if want.Origin.UserAgent != "" && !strings.HasPrefix(kept.Origin.UserAgent, personal.TokenPrefix) || kept.Reason != want.Reason {
			t.Fatalf("stored %+v for %+v", kept, want)
		}
		read := readAll(t, fx.sealed)[0]
		var got domain.LoginFailed
		if err := json.Unmarshal(read.Data, &got); err != nil {
			t.Fatalf("read data is not JSON: %v: %s", err, read.Data)
		}
		if got != want {
			t.Fatalf("read %+v; want %+v", got, want)
		}
	})
}
