package projections

import (
	"runtime"
	"sync/atomic"
	"unsafe"

	"accountd/internal/hugepages"

	"github.com/prometheus/client_golang/prometheus"
)

// The status projection's packed records and hash indexes are read at random: with a
// million accounts a status read lands on a different 4 KiB page of a 256 MiB array every
// time, and on this kind of virtual machine each TLB miss is a two-dimensional page walk
// that costs about as much as the cache miss itself. Go's heap is not backed by huge pages
// unless the system gives them to every mapping (transparent_hugepage=always; the common
// default is madvise), so large arrays are mapped here, outside the heap, with
// MADV_HUGEPAGE: one TLB entry then covers 2 MiB. Measured on this machine, a random
// 256-byte record of a 256 MiB array read in 491 ns from the heap and 251 ns from huge
// pages (BENCHMARKS.md, issue 16).
//
// What lives there must hold no Go pointer (the collector does not scan it) and be read
// only while its owner is reachable. A mapping is given back when its owner regrows it
// (under the projection's write lock, when no read is under way) or, for an array still in
// use when its owner is dropped, by a cleanup once the owner is unreachable.

// offHeapMin is the smallest array worth a mapping of its own: one huge page.
const offHeapMin = hugepages.Size

// offHeapBytes is what the mappings hold in all: Go's memory metrics do not count it.
var offHeapBytes atomic.Int64

// OffHeapCollector exposes offHeapBytes, so that an operator sizing a node sees the read
// model's largest part, which go_memstats leaves out.
func OffHeapCollector() prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "accountd_status_offheap_bytes",
		Help: "Memory the status read model maps outside the Go heap (its large tables, on huge pages where the system allows); go_memstats does not count it."},
		func() float64 { return float64(offHeapBytes.Load()) })
}

// offHeap is one mapping holding an array; the zero value is an array on the Go heap.
type offHeap struct {
	mapping []byte
	cleanup runtime.Cleanup
}

// makeArray returns n zeroed Ts and where they live. T must hold no pointer.
func makeArray[T any](n int) ([]T, *offHeap) {
	var zero T
	size := n * int(unsafe.Sizeof(zero))
	if size < offHeapMin {
		return make([]T, n), nil
	}
	mapping, aligned := hugepages.Map(size)
	if mapping == nil {
		return make([]T, n), nil
	}
	offHeapBytes.Add(int64(len(mapping)))
	m := &offHeap{mapping: mapping}
	m.cleanup = runtime.AddCleanup(m, release, mapping)
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(aligned))), n), m
}

// regrowArray moves old's elements into an array of capacity n (at least len(old)) and
// frees old's mapping: nothing may read old afterwards.
func regrowArray[T any](old []T, mem *offHeap, n int) ([]T, *offHeap) {
	grown, m := makeArray[T](n)
	grown = grown[:copy(grown, old)]
	mem.free()
	return grown, m
}

// free gives the mapping back now. Nil (an array on the heap) is left to the collector.
func (m *offHeap) free() {
	if m == nil || m.mapping == nil {
		return
	}
	m.cleanup.Stop()
	release(m.mapping)
	m.mapping = nil
}

// release unmaps a mapping and stops counting it.
func release(mapping []byte) {
	hugepages.Unmap(mapping)
	offHeapBytes.Add(-int64(len(mapping)))
}
