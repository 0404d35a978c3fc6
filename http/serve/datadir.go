package serve

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
)

// ErrDataDirInUse: a running server (or an offline rebuild) holds the data directory.
var ErrDataDirInUse = errors.New("the data directory is in use by a running accountd")

const (
	lockFile = "accountd.lock"
	// urlFile is where a serving server writes the URL it listens on, so the tools that
	// must go through it (accountd rebuild while it runs) find it from --data alone.
	urlFile = "server.url"
)

// ServerURL returns the URL the server holding dir listens on, as it wrote it at start.
func ServerURL(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, urlFile))
	if err != nil {
		return "", fmt.Errorf("the running server's address: %w", err)
	}
	url := strings.TrimSpace(string(b))
	if url == "" {
		return "", fmt.Errorf("the running server's address: %s is empty", filepath.Join(dir, urlFile))
	}
	return url, nil
}

// writeServerURL records the listener's URL, with a wildcard host made loopback: the
// tools run on the same machine.
func writeServerURL(dir string, addr net.Addr) error {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	// Written aside and renamed, so a tool never reads the file half written.
	tmp := filepath.Join(dir, urlFile+".tmp")
	if err := os.WriteFile(tmp, []byte("http://"+net.JoinHostPort(host, port)+"\n"), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, urlFile))
}
