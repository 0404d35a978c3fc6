//go:build !linux

package cpusched

// Batch does nothing where there is no SCHED_BATCH.
func Batch() (moved bool, err error) { return false, ErrUnsupported }
