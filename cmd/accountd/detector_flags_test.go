package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"accountd/domain"
)

// The detector thresholds: defaults, flags, their ACCOUNTD_DETECT_ equivalents, and every
// bad value refused naming the flag.
func TestServeDetectorFlags(t *testing.T) {
	def := domain.DefaultDetectorPolicy()
	with := func(change func(p *domain.DetectorPolicy)) domain.DetectorPolicy {
		p := domain.DefaultDetectorPolicy()
		change(&p)
		return p
	}
	tests := []struct {
		name string
		args []string
		env  []string
		want domain.DetectorPolicy
		err  []string // the error contains each
	}{
		{name: "defaults", want: def},
		{name: "flags", args: []string{"--detect-shared-account-window", "5m", "--detect-stuffing-window", "30m", "--detect-stuffing-distinct-emails", "20",
			"--detect-stuffing-cool-off", "1h", "--detect-spraying-window", "20m", "--detect-spraying-min-accounts", "8", "--detect-spraying-max-addresses", "3",
			"--detect-mfa-guessing-window", "2h", "--detect-mfa-guessing-cooldowns", "4", "--detect-new-device-window", "1d", "--detect-new-device-disable"},
			want: domain.DetectorPolicy{SharedAccountWindow: domain.Duration(5 * time.Minute), StuffingWindow: domain.Duration(30 * time.Minute), StuffingDistinctEmails: 20,
				StuffingCoolOff: domain.Duration(time.Hour), SprayingWindow: domain.Duration(20 * time.Minute), SprayingMinAccounts: 8, SprayingMaxAddresses: 3,
				MFAGuessingWindow: domain.Duration(2 * time.Hour), MFAGuessingCooldowns: 4, NewDeviceWindow: domain.Duration(24 * time.Hour), NewDeviceDisable: true}},
		{name: "environment", env: []string{"ACCOUNTD_DETECT_STUFFING_DISTINCT_EMAILS=25", "ACCOUNTD_DETECT_SPRAYING_WINDOW=45m", "ACCOUNTD_DETECT_NEW_DEVICE_DISABLE=true"},
			want: with(func(p *domain.DetectorPolicy) {
				p.StuffingDistinctEmails, p.SprayingWindow, p.NewDeviceDisable = 25, domain.Duration(45*time.Minute), true
			})},
		{name: "a flag wins over the environment", args: []string{"--detect-mfa-guessing-cooldowns", "3"}, env: []string{"ACCOUNTD_DETECT_MFA_GUESSING_COOLDOWNS=7"},
			want: with(func(p *domain.DetectorPolicy) { p.MFAGuessingCooldowns = 3 })},
		{name: "count too low", args: []string{"--detect-stuffing-distinct-emails", "1"},
			err: []string{"--detect-stuffing-distinct-emails [ACCOUNTD_DETECT_STUFFING_DISTINCT_EMAILS]: must be at least 2, got 1"}},
		{name: "window too long, from the environment", env: []string{"ACCOUNTD_DETECT_SPRAYING_WINDOW=25h"},
			err: []string{"--detect-spraying-window [ACCOUNTD_DETECT_SPRAYING_WINDOW]: must be more than 0 and at most 24h"}},
		{name: "zero window", args: []string{"--detect-new-device-window", "0s"}, err: []string{"--detect-new-device-window"}},
		{name: "every bad setting at once", args: []string{"--detect-spraying-max-addresses", "0", "--detect-mfa-guessing-cooldowns", "0"},
			err: []string{"--detect-spraying-max-addresses", "--detect-mfa-guessing-cooldowns"}},
		{name: "not a duration", args: []string{"--detect-stuffing-cool-off", "soon"}, err: []string{"detect-stuffing-cool-off", `"soon"`}},
		{name: "negative duration", args: []string{"--detect-stuffing-cool-off", "-5m"}, err: []string{"detect-stuffing-cool-off", "negative"}},
		{name: "not a number, from the environment", env: []string{"ACCOUNTD_DETECT_SPRAYING_MIN_ACCOUNTS=many"}, err: []string{"ACCOUNTD_DETECT_SPRAYING_MIN_ACCOUNTS"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			cfg, err := parseServe(tc.args, tc.env, &stderr)
			if len(tc.err) > 0 {
				if err == nil {
					t.Fatalf("accepted; want an error containing %q", tc.err)
				}
				for _, want := range tc.err {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q lacks %q", err, want)
					}
				}
				if !errors.As(err, new(usageError)) && !strings.Contains(stderr.String(), "invalid value") {
					t.Errorf("error %v is not a usage error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Detectors == nil {
				t.Fatal("serve.Config.Detectors not set")
			}
			if *cfg.Detectors != tc.want {
				t.Errorf("detectors\n got %+v\nwant %+v", *cfg.Detectors, tc.want)
			}
			if strings.Contains(stderr.String(), "ACCOUNTD_DETECT_") {
				t.Errorf("an ACCOUNTD_DETECT_ variable reported as unknown:\n%s", stderr.String())
			}
		})
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"serve", "--detect-stuffing-window", "0s"}, nil, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "--detect-stuffing-window") {
		t.Errorf("serve with a bad threshold: exit %d, want 2 naming the flag:\n%s", code, errOut.String())
	}
}

// Every setting of domain.DetectorPolicy has its --detect- flag, listed by --help with its
// environment equivalent and the default of domain.DefaultDetectorPolicy.
func TestEveryDetectorSettingHasAFlag(t *testing.T) {
	doc, err := json.Marshal(domain.DefaultDetectorPolicy())
	if err != nil {
		t.Fatal(err)
	}
	var settings map[string]any
	if err := json.Unmarshal(doc, &settings); err != nil {
		t.Fatal(err)
	}
	fs, _ := newServeFlags(io.Discard)
	var help bytes.Buffer
	fs.SetOutput(&help)
	fs.Usage()
	for setting, value := range settings {
		name := detectFlagName(setting)
		f := fs.Lookup(name)
		if f == nil {
			t.Errorf("detector setting %s has no --%s flag", setting, name)
			continue
		}
		if def := strings.Trim(string(mustJSON(t, value)), `"`); f.DefValue != def && !sameDuration(f.DefValue, def) {
			t.Errorf("--%s defaults to %q, domain.DefaultDetectorPolicy to %s", name, f.DefValue, def)
		}
		if !strings.Contains(help.String(), "--"+name+" ") || !strings.Contains(help.String(), "["+envName(name)+"]") {
			t.Errorf("--help does not list --%s with %s", name, envName(name))
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameDuration reports whether two duration texts ("10m0s", "10m") are the same duration.
func sameDuration(a, b string) bool {
	da, err1 := domain.ParseDuration(a)
	db, err2 := domain.ParseDuration(b)
	return err1 == nil && err2 == nil && da == db
}
