//go:build !linux

package hugepages

// Map is Linux's only: elsewhere large arrays stay on the heap.
func Map(int) (mapping, aligned []byte) { return nil, nil }

// Unmap does nothing where Map maps nothing.
func Unmap([]byte) {}
