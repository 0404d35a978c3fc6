package serve_test

import (
	"context"
	"errors"
	"testing"

	"accountd/http/serve"
)

// The server holds its data directory: a second server, or an offline rebuild, is refused
// with ErrDataDirInUse until it stops; then the directory is free again.
func TestServerHoldsItsDataDirectory(t *testing.T) {
	e := newEnv(t, nil)
	if _, err := serve.New(context.Background(), serve.Config{DataDir: e.data, Argon2: cheapArgon2(), Logger: testLogger(t)}); !errors.Is(err, serve.ErrDataDirInUse) {
		t.Fatalf("second server on the directory: %v, want ErrDataDirInUse", err)
	}
	if _, err := serve.LockDataDir(e.data); !errors.Is(err, serve.ErrDataDirInUse) {
		t.Fatalf("lock while serving: %v, want ErrDataDirInUse", err)
	}
	if err := e.srv.Close(); err != nil {
		t.Fatal(err)
	}
	release, err := serve.LockDataDir(e.data)
	if err != nil {
		t.Fatalf("lock after the server stopped: %v", err)
	}
	release()
}
