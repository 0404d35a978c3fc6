package serve

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNewRefusesAnUnknownCPUSchedulingAndWritesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	_, err := New(context.Background(), Config{DataDir: dir, CPUScheduling: "realtime"})
	if err == nil || !strings.Contains(err.Error(), `cpu scheduling "realtime": want batch or normal`) {
		t.Fatalf("New: %v, want the unknown scheduling named", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the data directory exists after a refused configuration: %v", err)
	}
}
