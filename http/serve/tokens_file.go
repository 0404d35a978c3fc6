package serve

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"accountd/http/api"
)

// The tokens file changes while the server runs (accountd tokens add and revoke, or an
// editor): the server re-reads it and swaps the API's clients, keeping the old set when the
// new file does not parse, so a typo never locks every client out.

// DefaultTokensReload is how often a running server looks at its tokens file.
const DefaultTokensReload = 2 * time.Second

// tokensReloader is the worker that follows the tokens file.
type tokensReloader struct {
	s    *Server
	last [sha256.Size]byte
}

func (w *tokensReloader) Run(ctx context.Context) error {
	every := w.s.cfg.TokensReload
	if every <= 0 {
		every = DefaultTokensReload
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			w.check()
		}
	}
}

func (w *tokensReloader) check() {
	changed, err := w.s.reloadTokens(&w.last)
	switch {
	case err != nil:
		w.s.log.Error("tokens file not taken; keeping the clients as they were", "path", w.s.tokensFile, "error", err)
	case changed:
		w.s.log.Info("tokens file re-read", "path", w.s.tokensFile)
	}
}

// ReloadTokens re-reads the tokens file now, as the server does every TokensReload. An
// error leaves the clients as they were.
func (s *Server) ReloadTokens() error {
	var none [sha256.Size]byte
	_, err := s.reloadTokens(&none)
	return err
}

// reloadTokens takes the file unless its digest is *last, and records the digest read.
func (s *Server) reloadTokens(last *[sha256.Size]byte) (bool, error) {
	if s.tokensFile == "" {
		return false, errors.New("the tokens were given in the configuration, not read from a file")
	}
	data, err := os.ReadFile(s.tokensFile)
	if err != nil {
		return false, err
	}
	sum := sha256.Sum256(data)
	if sum == *last {
		return false, nil
	}
	*last = sum
	tokens, err := api.ParseTokens(string(data))
	if err == nil && len(tokens) == 0 {
		err = errors.New("no token in the file")
	}
	if err != nil {
		return false, err
	}
	s.api.SetTokens(tokens)
	return true, nil
}

// TokenInfo is one token of the file as accountd tokens list shows it: never the secret,
// only a fingerprint to revoke it by.
type TokenInfo struct {
	Fingerprint string
	Roles       []api.Role
}

// Fingerprint names a token without revealing it: the start of its SHA-256.
func Fingerprint(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:6])
}

// ListTokens reads the tokens file.
func ListTokens(path string) ([]TokenInfo, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	tokens, err := api.ParseTokens(string(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := make([]TokenInfo, len(tokens))
	for i, t := range tokens {
		out[i] = TokenInfo{Fingerprint: Fingerprint(t.Secret), Roles: t.Roles}
	}
	return out, nil
}

// AddToken appends a new token for the roles and returns its secret, which is shown once.
func AddToken(path string, roles []api.Role) (string, error) {
	secret, err := NewToken()
	if err != nil {
		return "", err
	}
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	line := secret + ":" + strings.Join(names, "+")
	if _, err := api.ParseTokens(line); err != nil {
		return "", err
	}
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if len(data) > 0 && !bytes.HasSuffix(data, []byte("\n")) {
		data = append(data, '\n')
	}
	return secret, replaceFile(path, append(data, line+"\n"...))
}

// RevokeToken removes every entry of the token with the fingerprint. Revoking the last
// token is refused: the server would keep it anyway, as an empty file does not parse.
func RevokeToken(path, fingerprint string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var kept []string
	found, remaining := false, 0
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			kept = append(kept, line)
			continue
		}
		var items []string
		for _, item := range strings.Split(trimmed, ",") {
			secret, _, _ := strings.Cut(strings.TrimSpace(item), ":")
			if Fingerprint(strings.TrimSpace(secret)) == fingerprint {
				found = true
				continue
			}
			items = append(items, strings.TrimSpace(item))
		}
		if len(items) > 0 {
			kept = append(kept, strings.Join(items, ","))
			remaining += len(items)
		}
	}
	switch {
	case !found:
		return fmt.Errorf("no token with fingerprint %s in %s (accountd tokens list shows them)", fingerprint, path)
	case remaining == 0:
		return errors.New("that is the last token: add another first, or the server would keep it")
	}
	return replaceFile(path, []byte(strings.Join(kept, "\n")+"\n"))
}

// replaceFile writes data beside path and renames it over, so a reader (the running
// server) sees the old file or the new one, never half of one.
func replaceFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tokens-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
