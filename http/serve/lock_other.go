//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package serve

// LockDataDir cannot detect a second user of the directory on this platform: keeping the
// offline tools away from a running server is the operator's care there.
func LockDataDir(string) (func() error, error) { return func() error { return nil }, nil }
