package streams_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"accountd/domain"
	"accountd/projections/streams"
)

// publicFields are the payload fields an envelope may carry. With the secret fields (see
// redact.go) they must cover every field of every event: a new field fails this test until
// someone decides which list it belongs to.
var publicFields = strings.Fields(`account_id accounts claimed link through action
	message_id event_id event_position event_type attempts migrated activation_link_ttl actor addresses
	billing_overdue_threshold billing_restore_delay cause credentials_verified detail device_id devices
	disclosure effective_at email email_hash event_ids evidence expires_at failed_attempts from
	fingerprint history_depth idle_after inactivity_disable_after invoice_id ip kind lockout_duration
	lockout_threshold max_age mfa_clock_skew_steps mfa_cooldown mfa_enrolment_grace mfa_max_failures
	mfa_required mfa_step min_length name note notified origin overdue_invoices password_history_depth
	password_max_age password_max_length password_min_length policy primary_contact_email purpose property_id
	reason reasons reference replaces replayed reset_link_ttl rule session_idle_timeout session_max_age step
	subscription threshold to unlock_link_ttl until user_agent window_end window_start`)

var secretFields = []string{"password_hash", "token_hash", "nonce", "encrypted_secret", "session_id"}

func TestEveryPayloadFieldIsPublicOrSecret(t *testing.T) {
	for _, typ := range domain.EventTypes() {
		fields := streams.FieldsOf(typ)
		if len(fields) == 0 && typ != "" {
			t.Errorf("%s has no fields", typ)
		}
		for _, name := range fields {
			if !slices.Contains(publicFields, name) && !slices.Contains(secretFields, name) {
				t.Errorf("%s.%s is neither public nor secret: add it to publicFields or to redact.go's secretFields", typ, name)
			}
		}
	}
}

func TestEveryEventTypeHasACategory(t *testing.T) {
	for _, typ := range domain.EventTypes() {
		if c := streams.CategoryOf(typ); !slices.Contains(streams.Categories, c) {
			t.Errorf("%s has category %q", typ, c)
		}
	}
}

// TestEnvelopesMapToOCSF runs the story through a stream and checks each event's OCSF record
// against the README's mapping table.
func TestEnvelopesMapToOCSF(t *testing.T) {
	f := newLog(t)
	ids := f.story(t)
	secret := hookSecret
	rcv, srv := newReceiver(t, secret)
	set := openSet(t, f.store, t.TempDir(), time.Now, webhookConfig("siem", srv.URL, secret))
	caughtUp(t, set, "siem", f.store)
	envs, _ := rcv.envelopes()

	type mapping struct{ class, activity, status int }
	want := map[string]mapping{
		"login_succeeded.v1":            {3002, 1, 1},
		"login_failed.v1":               {3002, 1, 2},
		"unknown_email_login_failed.v1": {3002, 1, 2},
		"account_registered.v1":         {3001, 1, 1},
		"account_locked.v1":             {3001, 9, 1},
		"account_unlocked.v1":           {3001, 12, 1},
		"password_changed.v1":           {3001, 4, 1}, // through the reset link
		"account_disabled.v1":           {3001, 5, 1},
		"account_enabled.v1":            {3001, 2, 1},
	}
	emails := map[string]string{ids[0]: "staff0@lac.example", ids[1]: "staff1@mer.example"}
	seen := map[string]bool{}
	for _, e := range envs {
		typ := strings.TrimPrefix(e.Type, streams.TypePrefix)
		if e.Data.EventType != typ || e.SpecVersion != "1.0" || e.Source != "https://login.test" || e.Subject == "" || e.Time.IsZero() {
			t.Fatalf("envelope attributes: %+v", e)
		}
		m, mapped := want[typ]
		o := e.Data.OCSF
		if !mapped {
			if o != nil && typ != "session_ended.v1" && typ != "account_restored.v1" && typ != "account_deleted.v1" {
				t.Errorf("%s has an OCSF record the table does not list: %+v", typ, o)
			}
			continue
		}
		seen[typ] = true
		if o == nil {
			t.Fatalf("%s without its OCSF record", typ)
		}
		if o.ClassUID != m.class || o.ActivityID != m.activity || o.StatusID != m.status || o.TypeUID != m.class*100+m.activity ||
			o.CategoryUID != 3 || o.Metadata.UID != e.ID || o.Metadata.Version != streams.OCSFVersion || o.Time != e.Time.UnixMilli() {
			t.Errorf("%s maps to %+v, want class %d activity %d status %d", typ, o, m.class, m.activity, m.status)
		}
		if email, ok := emails[e.Data.AccountID]; ok && o.User.EmailAddr != email {
			t.Errorf("%s: user.email_addr %q, want %q", typ, o.User.EmailAddr, email)
		}
		if typ == "login_failed.v1" && (o.SrcEndpoint == nil || o.SrcEndpoint.IP != "203.0.113.7" || o.Status != "Failure") {
			t.Errorf("login_failed: src_endpoint %+v status %q", o.SrcEndpoint, o.Status)
		}
		if typ == "account_disabled.v1" && (o.Actor == nil || o.Actor.User == nil || o.Actor.User.UID != "support") {
			t.Errorf("account_disabled: actor %+v", o.Actor)
		}
	}
	for typ := range want {
		if !seen[typ] {
			t.Errorf("the story has no %s", typ)
		}
	}
}

func TestFilterSendsOnlyWhatItNames(t *testing.T) {
	f := newLog(t)
	ids := f.story(t)
	lac := map[string]bool{ids[0]: true, ids[2]: true, ids[4]: true} // registered with lac
	secret := hookSecret
	rcv, srv := newReceiver(t, secret)
	cfg := webhookConfig("lac-auth", srv.URL, secret)
	for _, spec := range []string{"category:authentication,account_change", "property:lac"} {
		g, err := streams.ParseFilter(spec)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Filter, err = cfg.Filter.And(g); err != nil {
			t.Fatal(err)
		}
	}
	set := openSet(t, f.store, t.TempDir(), time.Now, cfg)
	caughtUp(t, set, "lac-auth", f.store)

	recs, _ := f.store.ReadAll(t.Context(), 0, 1<<20)
	var wantIDs []string
	for _, r := range recs {
		c := streams.CategoryOf(r.Type)
		account, _ := strings.CutPrefix(r.Stream, "account-")
		if (c == streams.CategoryAuthentication || c == streams.CategoryAccountChange) && lac[account] {
			wantIDs = append(wantIDs, r.ID.String())
		}
	}
	envs, _ := rcv.envelopes()
	var gotIDs []string
	for _, e := range envs {
		gotIDs = append(gotIDs, e.ID)
	}
	if len(wantIDs) < 10 || !slices.Equal(gotIDs, wantIDs) {
		t.Fatalf("filtered stream sent %d envelopes, want %d:\n got %v\nwant %v", len(gotIDs), len(wantIDs), gotIDs, wantIDs)
	}
}

func TestParseDestination(t *testing.T) {
	for _, tc := range []struct {
		url, kind, err string
	}{
		{"nats://127.0.0.1:4222?subject=accountd.events", streams.KindJetStream, ""},
		{"nats://127.0.0.1:4222?subject=accountd.events&stream=AUTH&ack=each&dedupe=1h", streams.KindJetStream, ""},
		{"nats://127.0.0.1:4222?subject=accountd.*", "", "wildcards"},
		{"nats://127.0.0.1:4222", "", "subject"},
		{"nats://127.0.0.1:4222?subject=a&ack=never", "", "ack"},
		{"nats://127.0.0.1:4222?subject=a&colour=red", "", "unknown parameter"},
		{"amqp://guest:guest@127.0.0.1:5672/?exchange=accountd", streams.KindAMQP, ""},
		{"amqp://guest:guest@127.0.0.1:5672/?exchange=amq.topic", "", "amq."},
		{"amqp://guest:guest@127.0.0.1:5672/", "", "exchange"},
		{"https://siem.example/hook", streams.KindWebhook, ""},
		{"http://127.0.0.1:9000/hook", streams.KindWebhook, ""},
		{"http://localhost:9000/hook", streams.KindWebhook, ""},
		{"http://[::1]:9000/hook", streams.KindWebhook, ""},
		{"http://siem.example/hook", "", "loopback"},
		{"ftp://siem.example/", "", "want nats"},
		{"not a url", "", "not a URL"},
	} {
		d, err := streams.ParseDestination(tc.url)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", tc.url, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: error %v, want one saying %q", tc.url, err, tc.err)
		case tc.err == "" && d.Kind != tc.kind:
			t.Errorf("%s: kind %q, want %q", tc.url, d.Kind, tc.kind)
		}
		if err != nil && strings.Contains(err.Error(), "guest:guest") {
			t.Errorf("%s: the error shows the password: %v", tc.url, err)
		}
	}
}

func TestParseFilter(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want streams.Filter
		err  bool
	}{
		{"category:authentication,account_change", streams.Filter{Categories: []string{"authentication", "account_change"}}, false},
		{"property:lac, mer", streams.Filter{Properties: []string{"lac", "mer"}}, false},
		{"type:accountd.login_failed.v1,account_locked.v1", streams.Filter{Types: []string{"login_failed.v1", "account_locked.v1"}}, false},
		{"category:logins", streams.Filter{}, true},
		{"type:login_failed", streams.Filter{}, true},
		{"colour:red", streams.Filter{}, true},
		{"category:", streams.Filter{}, true},
		{"authentication", streams.Filter{}, true},
	} {
		got, err := streams.ParseFilter(tc.spec)
		if (err != nil) != tc.err || (!tc.err && !reflect.DeepEqual(got, tc.want)) {
			t.Errorf("ParseFilter(%q) = %+v, %v", tc.spec, got, err)
		}
	}
	a, _ := streams.ParseFilter("category:authentication")
	b, _ := streams.ParseFilter("category:policy")
	if _, err := a.And(b); err == nil {
		t.Error("two category filters were combined")
	}
}

func TestSignatureVerifies(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	now := time.Unix(1_790_000_000, 0)
	body := []byte(`{"id":"x"}`)
	good := streams.Sign(secret, now, body)
	if !strings.HasPrefix(good, "t=1790000000,v1=") || len(good) != len("t=1790000000,v1=")+64 {
		t.Fatalf("signature %q", good)
	}
	for _, tc := range []struct {
		name, header string
		body         []byte
		at           time.Time
		ok           bool
	}{
		{"as sent", good, body, now, true},
		{"a minute later", good, body, now.Add(time.Minute), true},
		{"body changed", good, []byte(`{"id":"y"}`), now, false},
		{"replayed an hour later", good, body, now.Add(time.Hour), false},
		{"timestamp changed", strings.Replace(good, "t=1790000000", "t=1790000001", 1), body, now, false},
		{"no signature", "t=1790000000", body, now, false},
		{"garbage", "sha256=abc", body, now, false},
	} {
		err := streams.Verify(secret, tc.header, tc.body, tc.at, 5*time.Minute)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}
