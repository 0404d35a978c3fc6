package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"accountd/domain"
	"accountd/eventstore/personal"
	"accountd/eventstore/sqlite"
	"accountd/http/serve"
)

// Flags, their ACCOUNTD_ equivalents and the policy overrides, and every error naming what
// is wrong.
func TestParseServe(t *testing.T) {
	dir := t.TempDir()
	policyFile := filepath.Join(dir, "policy.json")
	os.WriteFile(policyFile, []byte(`{"lockout_threshold": 8, "password_max_age": "60d"}`), 0o600)
	badPolicyFile := filepath.Join(dir, "bad.json")
	os.WriteFile(badPolicyFile, []byte(`{"lockout_treshold": 8}`), 0o600)
	tokensFile := filepath.Join(dir, "tokens")
	os.WriteFile(tokensFile, []byte("# clients\nfile-token-0123456789:admin\n"), 0o600)
	hexKey := strings.Repeat("ab", 32)

	tests := []struct {
		name  string
		args  []string
		env   []string
		check func(t *testing.T, c configView)
		err   string
	}{
		{name: "defaults", check: func(t *testing.T, c configView) {
			if c.DataDir != "./data" || c.Addr != "127.0.0.1:8080" || c.PublicURL != "http://127.0.0.1:8080" || c.Sync != sqlite.Full {
				t.Errorf("defaults: %+v", c.Config)
			}
			if *c.Policy != domain.DefaultPolicy() || len(c.Tokens) != 0 || c.Argon2.MemoryKiB != 19*1024 {
				t.Errorf("defaults: policy %+v tokens %d", c.Policy, len(c.Tokens))
			}
		}},
		{name: "flags", args: []string{"--data", dir, "--addr", ":9000", "--sync", "normal", "--public-url", "https://login.example/", "--argon2-memory-kib", "64", "--argon2-iterations", "1"},
			check: func(t *testing.T, c configView) {
				if c.DataDir != dir || c.Addr != ":9000" || c.Sync != sqlite.Normal || c.PublicURL != "https://login.example" || c.Argon2.MemoryKiB != 64 || c.Argon2.Iterations != 1 {
					t.Errorf("flags: %+v", c.Config)
				}
			}},
		{name: "the public URL follows the listen address", args: []string{"--addr", "127.0.0.1:9090"}, check: func(t *testing.T, c configView) {
			if c.PublicURL != "http://127.0.0.1:9090" {
				t.Errorf("public URL %q, want http://127.0.0.1:9090", c.PublicURL)
			}
		}},
		{name: "the public URL of a listener on every interface", env: []string{"ACCOUNTD_ADDR=:7070"}, check: func(t *testing.T, c configView) {
			if c.PublicURL != "http://127.0.0.1:7070" {
				t.Errorf("public URL %q, want http://127.0.0.1:7070", c.PublicURL)
			}
		}},
		{name: "the public URL of an IPv6 listener", args: []string{"--addr", "[::1]:8081"}, check: func(t *testing.T, c configView) {
			if c.PublicURL != "http://[::1]:8081" {
				t.Errorf("public URL %q", c.PublicURL)
			}
		}},
		{name: "environment, and a flag wins over it", args: []string{"--addr", ":7000"},
			env: []string{"ACCOUNTD_ADDR=:6000", "ACCOUNTD_DATA=" + dir, "ACCOUNTD_SYNC=normal", "ACCOUNTD_SHUTDOWN_TIMEOUT=3s"},
			check: func(t *testing.T, c configView) {
				if c.Addr != ":7000" || c.DataDir != dir || c.Sync != sqlite.Normal || c.ShutdownTimeout != 3*time.Second {
					t.Errorf("env: %+v", c.Config)
				}
			}},
		{name: "policy file, env and flag, in that order", args: []string{"--policy-file", policyFile, "--policy", "disclosure=generic", "--policy", "mfa-required=false"},
			env: []string{"ACCOUNTD_POLICY_LOCKOUT_THRESHOLD=7", "ACCOUNTD_POLICY_MFA_COOLDOWN=2m"},
			check: func(t *testing.T, c configView) {
				p := c.Policy
				if p.LockoutThreshold != 7 || p.PasswordMaxAge != domain.Duration(60*24*time.Hour) || p.Disclosure != domain.DisclosureGeneric || p.MFARequired || p.MFACooldown != domain.Duration(2*time.Minute) {
					t.Errorf("policy: %+v", p)
				}
			}},
		{name: "policy file via env", env: []string{"ACCOUNTD_POLICY_FILE=" + policyFile}, check: func(t *testing.T, c configView) {
			if c.Policy.LockoutThreshold != 8 {
				t.Errorf("policy file from ACCOUNTD_POLICY_FILE not read: %+v", c.Policy)
			}
		}},
		{name: "tokens and keys", args: []string{"--tokens-file", tokensFile}, env: []string{"ACCOUNTD_TOKENS=env-token-0123456789:login-service,env-token-0123456789:security", "ACCOUNTD_MFA_KEY=" + hexKey, "ACCOUNTD_LINK_KEY=" + hexKey},
			check: func(t *testing.T, c configView) {
				if len(c.Tokens) != 2 || len(c.Tokens[0].Roles) != 2 || c.Tokens[1].Secret != "file-token-0123456789" || len(c.MFAKey) != 32 || len(c.LinkKey) != 32 {
					t.Errorf("tokens %+v keys %d %d", c.Tokens, len(c.MFAKey), len(c.LinkKey))
				}
			}},
		{name: "policy out of range", env: []string{"ACCOUNTD_POLICY_LOCKOUT_THRESHOLD=11"}, err: "lockout_threshold: 11 is out of range"},
		{name: "policy not a number", env: []string{"ACCOUNTD_POLICY_LOCKOUT_THRESHOLD=six"}, err: `ACCOUNTD_POLICY_LOCKOUT_THRESHOLD: policy field "lockout_threshold": "six" is not a whole number`},
		{name: "policy bad duration", args: []string{"--policy", "reset_link_ttl=tomorrow"}, err: `policy field "reset_link_ttl"`},
		{name: "policy unknown setting", env: []string{"ACCOUNTD_POLICY_LOCKOUT_TRESHOLD=7"}, err: `ACCOUNTD_POLICY_LOCKOUT_TRESHOLD: policy field "lockout_treshold": unknown setting`},
		{name: "policy file unknown field", args: []string{"--policy-file", badPolicyFile}, err: `unknown field "lockout_treshold"`},
		{name: "policy flag without value", args: []string{"--policy", "disclosure"}, err: "want field=value"},
		{name: "several bad settings at once", args: []string{"--policy", "lockout_threshold=0", "--policy", "password_min_length=4"}, err: "lockout_threshold: 0 is out of range: must be between 1 and 10; password_min_length"},
		{name: "bad sync", args: []string{"--sync", "sometimes"}, err: `--sync "sometimes"`},
		{name: "cpu scheduling by default batch", check: func(t *testing.T, c configView) {
			if c.CPUScheduling != serve.CPUBatch {
				t.Errorf("cpu scheduling %q, want %q", c.CPUScheduling, serve.CPUBatch)
			}
		}},
		{name: "cpu scheduling left normal", env: []string{"ACCOUNTD_CPU_SCHEDULING=normal"}, check: func(t *testing.T, c configView) {
			if c.CPUScheduling != serve.CPUNormal {
				t.Errorf("cpu scheduling %q, want %q", c.CPUScheduling, serve.CPUNormal)
			}
		}},
		{name: "bad cpu scheduling", args: []string{"--cpu-scheduling", "realtime"}, err: `--cpu-scheduling "realtime": want batch or normal`},
		{name: "bad env flag value", env: []string{"ACCOUNTD_SMTP_STARTTLS=perhaps"}, err: "ACCOUNTD_SMTP_STARTTLS"},
		{name: "bad tokens", env: []string{"ACCOUNTD_TOKENS=short:admin"}, err: "ACCOUNTD_TOKENS: token entry 1"},
		{name: "bad key", env: []string{"ACCOUNTD_MFA_KEY=abc"}, err: "ACCOUNTD_MFA_KEY: want 64 hex digits"},
		{name: "bad log format", args: []string{"--log-format", "xml"}, err: "--log-format"},
		{name: "bad argon2", args: []string{"--argon2-iterations", "0"}, err: "argon2id parameters out of range"},
		{name: "stray argument", args: []string{"now"}, err: `unexpected argument "now"`},
		{name: "personal data defaults", check: func(t *testing.T, c configView) {
			if c.PersonalKeys != "" || c.PersonalRetention != personal.DefaultRetentionMonths {
				t.Errorf("personal keys %q, retention %d; want the data directory's file and %d months", c.PersonalKeys, c.PersonalRetention, personal.DefaultRetentionMonths)
			}
		}},
		{name: "personal data settings", args: []string{"--personal-keys", "/secrets/keys.db"}, env: []string{"ACCOUNTD_PERSONAL_RETENTION=24"},
			check: func(t *testing.T, c configView) {
				if c.PersonalKeys != "/secrets/keys.db" || c.PersonalRetention != 24 {
					t.Errorf("personal keys %q, retention %d", c.PersonalKeys, c.PersonalRetention)
				}
			}},
		{name: "personal retention under a year", args: []string{"--personal-retention", "11"}, err: "--personal-retention: personal_retention_too_short"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			cfg, err := parseServe(tc.args, tc.env, &stderr)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, configView{cfg})
		})
	}
}

func TestUnknownEnvironmentVariableIsReported(t *testing.T) {
	var stderr bytes.Buffer
	if _, err := parseServe(nil, []string{"ACCOUNTD_ADRR=:9000"}, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "ACCOUNTD_ADRR") {
		t.Fatalf("no warning about the misspelt variable: %s", stderr.String())
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"serve", "--help"}, {"help", "serve"}, {"bench", "-h"}, {"help"}} {
		var out, errOut bytes.Buffer
		if code := run(args, nil, &out, &errOut); code != 0 {
			t.Errorf("%v: exit %d", args, code)
		}
		text := out.String() + errOut.String()
		if !strings.Contains(text, "Examples:") {
			t.Errorf("%v: no examples in\n%s", args, text)
		}
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"frobnicate"}, nil, &out, &errOut); code != 2 {
		t.Errorf("unknown command: exit %d", code)
	}
	if code := run([]string{"serve", "--sync", "never"}, nil, &out, &errOut); code != 2 {
		t.Errorf("bad flag value: exit %d", code)
	}
}

// configView embeds the serve.Config so checks read its fields directly.
type configView struct{ serve.Config }
