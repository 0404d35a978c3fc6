// Package hugepages maps large arrays outside the Go heap on transparent huge pages.
//
// Go's heap is not backed by huge pages unless the system gives them to every mapping
// (transparent_hugepage=always; the common default is madvise). An array read at random
// over many megabytes then takes a TLB miss on most reads, and on a virtual machine each
// miss is a two-dimensional page walk that costs about as much as the cache miss itself;
// on a 2 MiB page one TLB entry covers what 512 small pages need. The status read model's
// tables (projections/offheap.go) and argon2id's block arrays live here.
//
// What lives in a mapping must hold no Go pointer (the collector does not scan it) and be
// used only while its owner is reachable.
package hugepages

// Size is a huge page's: 2 MiB on x86-64 and on arm64 with 4 KiB base pages. An array
// smaller than that gains nothing from a mapping of its own.
const Size = 2 << 20
