package hugepages

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Map maps size bytes of zeroed memory outside the Go heap, asks for huge pages, and
// returns the mapping and its first size bytes from a 2 MiB boundary (a huge page needs an
// aligned range). Nil when the system refuses the mapping: the caller then uses the heap.
func Map(size int) (mapping, aligned []byte) {
	mapping, err := unix.Mmap(-1, 0, size+Size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, nil
	}
	skip := (Size - int(uintptr(unsafe.Pointer(&mapping[0]))%Size)) % Size
	aligned = mapping[skip : skip+size]
	// Without transparent huge pages (or with them off) this fails, and 4 KiB pages serve.
	_ = unix.Madvise(aligned, unix.MADV_HUGEPAGE)
	return mapping, aligned
}

// Unmap gives back a mapping made by Map; nothing may touch it afterwards.
func Unmap(mapping []byte) { _ = unix.Munmap(mapping) }
