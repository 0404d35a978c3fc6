// Package personaltest is the contract suite of personal.Keys backends: what the sealing
// store and the erasure command rely on (one key per subject and month, a destroy that is
// final and idempotent, tombstones that no get-or-create gets past), run against every
// backend the same way.
package personaltest

import (
	"bytes"
	"errors"
	"sync"
	"testing"

	"accountd/domain"
	"accountd/eventstore/personal"
)

// Test runs the suite. newKeys must return a fresh, empty key store for every call and
// register its Close with t.Cleanup.
func Test(t *testing.T, newKeys func(t *testing.T) personal.Keys) {
	cases := []struct {
		name string
		run  func(t *testing.T, k personal.Keys)
	}{
		{"SubjectKeyCreatedOnce", subjectKeyCreatedOnce},
		{"ReadWithoutCreateFindsNothing", readWithoutCreate},
		{"DestroySubjectIsFinalAndIdempotent", destroySubject},
		{"DestroyUnknownSubjectLeavesTombstone", destroyUnknownSubject},
		{"ConcurrentCreatesAgree", concurrentCreates},
		{"PeriodKeys", periodKeys},
		{"DestroyPeriodsBefore", destroyPeriodsBefore},
		{"BadInputIsTyped", badInput},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, newKeys(t)) })
	}
}

func subjectKeyCreatedOnce(t *testing.T, k personal.Keys) {
	a, err := k.SubjectKey(t.Context(), "account.a", true)
	if err != nil || len(a) != personal.KeySize {
		t.Fatalf("create: %x, %v", a, err)
	}
	again, err := k.SubjectKey(t.Context(), "account.a", true)
	if err != nil || !bytes.Equal(a, again) {
		t.Fatalf("second get-or-create: %x, %v; want %x", again, err, a)
	}
	read, err := k.SubjectKey(t.Context(), "account.a", false)
	if err != nil || !bytes.Equal(a, read) {
		t.Fatalf("read: %x, %v; want %x", read, err, a)
	}
	b, err := k.SubjectKey(t.Context(), "account.b", true)
	if err != nil || bytes.Equal(a, b) {
		t.Fatalf("another subject: %x, %v (same key as a: %v)", b, err, bytes.Equal(a, b))
	}
}

func readWithoutCreate(t *testing.T, k personal.Keys) {
	if _, err := k.SubjectKey(t.Context(), "account.none", false); !errors.Is(err, personal.ErrNoKey) {
		t.Fatalf("subject: %v; want ErrNoKey", err)
	}
	if _, err := k.PeriodKey(t.Context(), "2026-01", false); !errors.Is(err, personal.ErrNoKey) {
		t.Fatalf("period: %v; want ErrNoKey", err)
	}
	// Asking did not create it.
	if _, err := k.SubjectKey(t.Context(), "account.none", false); !errors.Is(err, personal.ErrNoKey) {
		t.Fatalf("subject asked twice: %v; want ErrNoKey", err)
	}
}

func destroySubject(t *testing.T, k personal.Keys) {
	if _, err := k.SubjectKey(t.Context(), "account.a", true); err != nil {
		t.Fatal(err)
	}
	keep, _ := k.SubjectKey(t.Context(), "account.b", true)
	for i := range 2 {
		if err := k.DestroySubject(t.Context(), "account.a"); err != nil {
			t.Fatalf("destroy #%d: %v", i+1, err)
		}
	}
	for _, create := range []bool{false, true} {
		if key, err := k.SubjectKey(t.Context(), "account.a", create); !errors.Is(err, personal.ErrDestroyed) || key != nil {
			t.Fatalf("after destroy (create %v): %x, %v; want ErrDestroyed", create, key, err)
		}
	}
	if b, err := k.SubjectKey(t.Context(), "account.b", false); err != nil || !bytes.Equal(b, keep) {
		t.Fatalf("another subject after destroy: %x, %v", b, err)
	}
}

func destroyUnknownSubject(t *testing.T, k personal.Keys) {
	if err := k.DestroySubject(t.Context(), "unknown.h"); err != nil {
		t.Fatal(err)
	}
	if _, err := k.SubjectKey(t.Context(), "unknown.h", true); !errors.Is(err, personal.ErrDestroyed) {
		t.Fatalf("create after a destroy of a subject that had no key: %v; want ErrDestroyed", err)
	}
}

func concurrentCreates(t *testing.T, k personal.Keys) {
	const n = 8
	keys := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { keys[i], errs[i] = k.SubjectKey(t.Context(), "account.raced", true) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || !bytes.Equal(keys[i], keys[0]) {
			t.Fatalf("caller %d: %x, %v; caller 0 got %x", i, keys[i], errs[i], keys[0])
		}
	}
}

func periodKeys(t *testing.T, k personal.Keys) {
	jan, err := k.PeriodKey(t.Context(), "2026-01", true)
	if err != nil || len(jan) != personal.KeySize {
		t.Fatalf("create: %x, %v", jan, err)
	}
	again, err := k.PeriodKey(t.Context(), "2026-01", false)
	if err != nil || !bytes.Equal(again, jan) {
		t.Fatalf("read: %x, %v", again, err)
	}
	feb, err := k.PeriodKey(t.Context(), "2026-02", true)
	if err != nil || bytes.Equal(feb, jan) {
		t.Fatalf("another month: %x, %v", feb, err)
	}
	// A period and a subject never share a key by name.
	if s, err := k.SubjectKey(t.Context(), "2026-01", true); err != nil || bytes.Equal(s, jan) {
		t.Fatalf("subject named like a month: %x, %v", s, err)
	}
}

func destroyPeriodsBefore(t *testing.T, k personal.Keys) {
	for _, m := range []string{"2025-11", "2025-12", "2026-01", "2026-02"} {
		if _, err := k.PeriodKey(t.Context(), m, true); err != nil {
			t.Fatal(err)
		}
	}
	subject, _ := k.SubjectKey(t.Context(), "account.a", true)
	n, err := k.DestroyPeriodsBefore(t.Context(), "2026-01")
	if err != nil || n != 2 {
		t.Fatalf("destroy before 2026-01: %d, %v; want 2", n, err)
	}
	if n, err := k.DestroyPeriodsBefore(t.Context(), "2026-01"); err != nil || n != 0 {
		t.Fatalf("again: %d, %v; want 0", n, err)
	}
	// An earlier floor does not lower the one in force.
	if n, err := k.DestroyPeriodsBefore(t.Context(), "2025-06"); err != nil || n != 0 {
		t.Fatalf("earlier floor: %d, %v; want 0", n, err)
	}
	cases := []struct {
		month string
		want  error
	}{
		{"2025-11", personal.ErrDestroyed},
		{"2025-12", personal.ErrDestroyed},
		{"2025-01", personal.ErrDestroyed}, // never had a key, before the floor
		{"2026-01", nil},
		{"2026-02", nil},
		{"2026-03", nil}, // a new month after the floor is made as ever
	}
	for _, c := range cases {
		for _, create := range []bool{false, true} {
			key, err := k.PeriodKey(t.Context(), c.month, create)
			if c.want != nil && !errors.Is(err, c.want) || c.want == nil && !create && err != nil && !errors.Is(err, personal.ErrNoKey) {
				t.Errorf("%s (create %v): %x, %v; want %v", c.month, create, key, err, c.want)
			}
			if c.want == nil && create && (err != nil || len(key) != personal.KeySize) {
				t.Errorf("%s (create): %x, %v; want a key", c.month, key, err)
			}
		}
	}
	if s, err := k.SubjectKey(t.Context(), "account.a", false); err != nil || !bytes.Equal(s, subject) {
		t.Fatalf("subject keys survive a period destroy: %x, %v", s, err)
	}
}

func badInput(t *testing.T, k personal.Keys) {
	subjects := []string{"", "account:a", `account."a"`, "account a", string(make([]byte, 600))}
	for _, s := range subjects {
		if _, err := k.SubjectKey(t.Context(), s, true); domain.ErrorCode(err) != personal.CodeInvalidSubject {
			t.Errorf("SubjectKey(%q) = %v; want %s", s, err, personal.CodeInvalidSubject)
		}
		if err := k.DestroySubject(t.Context(), s); domain.ErrorCode(err) != personal.CodeInvalidSubject {
			t.Errorf("DestroySubject(%q) = %v; want %s", s, err, personal.CodeInvalidSubject)
		}
	}
	for _, m := range []string{"", "2026", "2026-13", "2026-1", "26-01", "2026-01-01"} {
		if _, err := k.PeriodKey(t.Context(), m, true); domain.ErrorCode(err) != personal.CodeInvalidMonth {
			t.Errorf("PeriodKey(%q) = %v; want %s", m, err, personal.CodeInvalidMonth)
		}
		if _, err := k.DestroyPeriodsBefore(t.Context(), m); domain.ErrorCode(err) != personal.CodeInvalidMonth {
			t.Errorf("DestroyPeriodsBefore(%q) = %v; want %s", m, err, personal.CodeInvalidMonth)
		}
	}
}
