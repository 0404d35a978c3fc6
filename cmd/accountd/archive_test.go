package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"accountd/domain"
	"accountd/eventstore/archive"
	"accountd/eventstore/sqlite"
)

// The Done means of issue 20 for archival: a demo log's history, point-in-time state and
// evidence export for a period that gets archived answer the same after archiving all
// but the last 92 days; accountd archive verify passes, and fails naming the segment once
// a byte of it is changed.
func TestArchiveKeepsAnswers(t *testing.T) {
	end := time.Date(2026, 11, 20, 18, 0, 0, 0, time.UTC)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	cold := filepath.Join(dir, "cold") // other storage
	c := demoConfig{properties: 2, accounts: 12, months: 5, seed: 3, logEvery: time.Hour, end: end, skipMail: true}
	c.store = storeFlags{data: data, sync: "normal", store: "sqlite"}
	var out, errs bytes.Buffer
	if err := demo(context.Background(), c, &out, &errs); err != nil {
		t.Fatalf("demo: %v\n%s", err, errs.String())
	}
	accounts, property, head := demoSubjects(t, data)

	answers := func(label string) map[string]string {
		got := map[string]string{}
		for _, id := range accounts[:4] {
			for _, args := range [][]string{
				{"history", "--data", data, "--archive", cold, "--account", id},
				{"history", "--data", data, "--archive", cold, "--account", id, "--at", "2026-07-15T12:00:00Z"},
			} {
				code, stdout, stderr := runCLI(args...)
				if code != 0 {
					t.Fatalf("%s: %v: exit %d: %s", label, args, code, stderr)
				}
				got[strings.Join(args[5:], " ")] = stdout
			}
		}
		bundle := filepath.Join(dir, label+".zip")
		code, _, stderr := runCLI("evidence", "export", "--data", data, "--archive", cold, "--property", property,
			"--from", "2026-06-01", "--to", "2026-08-01", "--out", bundle)
		if code != 0 {
			t.Fatalf("%s: evidence export: exit %d: %s", label, code, stderr)
		}
		for name, body := range zipEntries(t, bundle) {
			// Each report says when it was made; everything else must be the same.
			got["evidence "+name] = generatedAt.ReplaceAllString(body, `"generated_at":"-"`)
		}
		return got
	}
	before := answers("before")
	// A checkpoint an auditor kept before the archival: the archived log must still
	// extend it.
	kept, err := filepath.Glob(filepath.Join(data, "checkpoints", "*"))
	if err != nil || len(kept) == 0 {
		t.Fatalf("the demo signed no checkpoint: %v", err)
	}
	saved := filepath.Join(dir, "auditor.checkpoint")
	if b, err := os.ReadFile(kept[len(kept)-1]); err != nil || os.WriteFile(saved, b, 0o600) != nil {
		t.Fatalf("save a checkpoint: %v", err)
	}

	code, stdout, stderr := runCLI("archive", "--data", data, "--archive", cold, "--hot-window", "92d", "--as-of", end.Format(time.RFC3339))
	if code != 0 {
		t.Fatalf("archive: exit %d: %s", code, stderr)
	}
	t.Log(stdout)
	store, err := sqlite.Open(filepath.Join(data, "events.db"), sqlite.WithArchiveDir(cold))
	if err != nil {
		t.Fatal(err)
	}
	through := store.ArchivedThrough()
	store.Close()
	if through == 0 || through >= head {
		t.Fatalf("archived through %d of %d events: want most of the log, not all", through, head)
	}

	after := answers("after")
	if len(after) != len(before) {
		t.Fatalf("%d answers after archiving, %d before", len(after), len(before))
	}
	for k, want := range before {
		if strings.HasPrefix(k, "evidence manifest") {
			continue // signed at export time
		}
		if after[k] != want {
			t.Errorf("%s changed after archiving:\nbefore:\n%s\nafter:\n%s", k, want, after[k])
		}
	}

	if code, stdout, stderr := runCLI("archive", "verify", "--data", data, "--archive", cold); code != 0 || !strings.Contains(stdout, "OK") {
		t.Fatalf("archive verify: exit %d: %s%s", code, stdout, stderr)
	}
	if code, _, stderr := runCLI("verify", "--data", data, "--archive", cold, "--checkpoint", saved); code != 0 {
		t.Fatalf("verify (chain and tree over archive and live log, against the checkpoint saved before): exit %d: %s", code, stderr)
	}
	segs, err := archive.List(cold)
	if err != nil || len(segs) == 0 {
		t.Fatalf("segments: %v, %v", segs, err)
	}
	victim := segs[len(segs)/2]
	path := filepath.Join(cold, victim.File)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)*2/3] ^= 0x04
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCLI("archive", "verify", "--data", data, "--archive", cold)
	if code == 0 || !strings.Contains(stderr, victim.File) {
		t.Fatalf("archive verify of a changed segment: exit %d, want a failure naming %s: %s", code, victim.File, stderr)
	}
}

var generatedAt = regexp.MustCompile(`"generated_at":"[^"]*"`)

func TestArchiveRefusesAShortHotWindow(t *testing.T) {
	for _, w := range []string{"2mo", "91d", "0d"} {
		var out, errs bytes.Buffer
		err := runArchive([]string{"--data", t.TempDir(), "--hot-window", w}, nil, &out, &errs)
		var de *domain.Error
		if !errors.As(err, &de) || de.Code != domain.CodeHotWindowTooShort {
			t.Errorf("--hot-window %s: %v, want %s", w, err, domain.CodeHotWindowTooShort)
		}
	}
}

// demoSubjects finds the demo's accounts, a property with members, and the log's head.
func demoSubjects(t testing.TB, data string) (accounts []string, property string, head uint64) {
	t.Helper()
	store, err := sqlite.Open(filepath.Join(data, "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	recs, err := store.ReadAll(context.Background(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Type != "account_registered.v1" {
			continue
		}
		var e struct {
			AccountID  string `json:"account_id"`
			PropertyID string `json:"property_id"`
		}
		if err := json.Unmarshal(r.Data, &e); err != nil {
			t.Fatal(err)
		}
		accounts = append(accounts, e.AccountID)
		if property == "" && e.PropertyID != "" {
			property = e.PropertyID
		}
	}
	if len(accounts) < 4 || property == "" {
		t.Fatalf("demo log: %d accounts, property %q", len(accounts), property)
	}
	return accounts, property, recs[len(recs)-1].Position
}

func zipEntries(t *testing.T, path string) map[string]string {
	t.Helper()
	r, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	out := map[string]string{}
	for _, f := range r.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		out[f.Name] = string(b)
	}
	return out
}
