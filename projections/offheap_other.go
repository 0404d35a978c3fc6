//go:build !linux

package projections

// mapHuge is Linux's only: elsewhere large arrays stay on the heap.
func mapHuge(int) (mapping, aligned []byte) { return nil, nil }

func unmap([]byte) {}
