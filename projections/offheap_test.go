package projections

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"accountd/domain"
)

// Past a huge page the records and the indexes leave the heap (on Linux), and growing them
// there must keep every account findable and intact: the regrowth copies and frees the
// old mapping, so a record read from the freed one would fault or read zeros.
func TestAccountTableOffTheHeap(t *testing.T) {
	const n = 140_000 // records past 2 MiB at 8,192; the ID and e-mail indexes at 131,072
	at := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	table := newAccountTable()
	account := func(i int) domain.Account {
		return domain.Account{ID: fmt.Sprintf("acc-%06d", i), Email: fmt.Sprintf("staff%06d@lac.example", i), Registered: true,
			RegisteredAt: at.Add(time.Duration(i) * time.Second), FailedAttempts: i % 5, Properties: []string{fmt.Sprintf("p-%d", i%50)}}
	}
	for i := range n {
		a := account(i)
		table.put(a.ID, emailKey(a.Email), accountRecord{Account: a, Position: uint64(i + 1)})
	}
	if runtime.GOOS == "linux" && (table.recsMem == nil || table.byID.mem == nil || table.byEmail.mem == nil) {
		t.Fatalf("records %v, ID index %v, e-mail index %v: a table this size should be mapped off the heap",
			table.recsMem != nil, table.byID.mem != nil, table.byEmail.mem != nil)
	}
	for i := range n {
		want := account(i)
		got, ok := table.get(want.ID)
		if !ok || got.Account.Email != want.Email || got.Account.FailedAttempts != want.FailedAttempts ||
			!got.Account.RegisteredAt.Equal(want.RegisteredAt) || got.Position != uint64(i+1) || got.Account.Properties[0] != want.Properties[0] {
			t.Fatalf("account %d: got %+v, %v", i, got, ok)
		}
		if id, ok := table.idByEmail(emailKey(want.Email)); !ok || id != want.ID {
			t.Fatalf("by e-mail %q: %q, %v", want.Email, id, ok)
		}
	}
	if _, ok := table.get("acc-absent"); ok {
		t.Fatal("an absent ID is found")
	}
}

func TestPropertyGatesOffTheHeap(t *testing.T) {
	const n = 60_000 // 48-byte gates past 2 MiB at 43,691
	g := newPropertyGates()
	for i := range n {
		id := fmt.Sprintf("prop-%06d", i)
		g.put(id, propertyRecord{Property: domain.Property{ID: id, AccessSuspended: i%3 == 0}, Position: uint64(i + 1)})
	}
	if runtime.GOOS == "linux" && g.mem == nil {
		t.Fatal("60,000 gates should be mapped off the heap")
	}
	for i := range n {
		id := fmt.Sprintf("prop-%06d", i)
		idx, ok := g.index.find(g.hash(id), id, g.idOf)
		if !ok || g.idOf(idx) != id || g.recs[idx].position != uint64(i+1) || (g.recs[idx].flags&gateAccessSuspended != 0) != (i%3 == 0) {
			t.Fatalf("gate %s: found %v", id, ok)
		}
	}
}

// The gauge follows the mappings: an operator reads the read model's memory there. Other
// tests' tables are freed by their cleanups when a collection finds them, at any moment,
// so a round in which the gauge moved by anything but this test's mappings is tried again.
func TestOffHeapBytesCountsTheMappings(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("large arrays are mapped off the heap on Linux only")
	}
	var problems []string
	for range 5 {
		runtime.GC()
		problem := offHeapRound()
		if problem == "" {
			return
		}
		problems = append(problems, problem)
	}
	t.Fatalf("in every round: %v", problems)
}

// offHeapRound maps, regrows and frees an array, and says what the gauge got wrong.
func offHeapRound() string {
	before := offHeapBytes.Load()
	a, mem := makeArray[uint64](1 << 20) // 8 MiB
	if mem == nil {
		return "an 8 MiB array was not mapped"
	}
	defer mem.free()
	a[len(a)-1] = 1
	if got := offHeapBytes.Load() - before; got < 8<<20 {
		return fmt.Sprintf("the gauge rose by %d bytes for an 8 MiB mapping", got)
	}
	grown, mem2 := regrowArray(a, mem, 2<<20)
	if grown[len(a)-1] != 1 {
		return "the regrowth lost an element"
	}
	mem2.free()
	if got := offHeapBytes.Load(); got != before {
		return fmt.Sprintf("after both mappings were freed the gauge reads %d bytes, want %d", got, before)
	}
	return ""
}
