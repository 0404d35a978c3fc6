package projections

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// mapHuge maps size bytes of zeroed memory, asks for huge pages, and returns the mapping
// and its first size bytes from a 2 MiB boundary (a huge page needs an aligned range). Nil
// when the system refuses the mapping: the caller then uses the heap.
func mapHuge(size int) (mapping, aligned []byte) {
	const huge = 2 << 20
	mapping, err := unix.Mmap(-1, 0, size+huge, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, nil
	}
	skip := (huge - int(uintptr(unsafe.Pointer(&mapping[0]))%huge)) % huge
	aligned = mapping[skip : skip+size]
	// Without transparent huge pages (or with them off) this fails, and 4 KiB pages serve.
	_ = unix.Madvise(aligned, unix.MADV_HUGEPAGE)
	return mapping, aligned
}

func unmap(mapping []byte) { _ = unix.Munmap(mapping) }
