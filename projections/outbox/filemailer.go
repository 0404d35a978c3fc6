package outbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// FileMailer writes each message as an RFC 5322 file, DIR/<yyyymmdd>-<ID>.eml, for
// development, tests and pick-up by an external MTA. The name depends only on the message
// (its event's date and ID), so a re-send replaces the file: one file per message, however
// often it is delivered.
type FileMailer struct {
	dir string
}

var _ Mailer = (*FileMailer)(nil)

// NewFileMailer creates dir (0700) if needed.
func NewFileMailer(dir string) (*FileMailer, error) {
	if dir == "" {
		return nil, errors.New("outbox: file mailer needs a directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("outbox: file mailer: %w", err)
	}
	return &FileMailer{dir: dir}, nil
}

var _ Forgetter = (*FileMailer)(nil)

// Forget removes the files of messages by ID, whatever their date.
func (f *FileMailer) Forget(ctx context.Context, messageIDs []string) (int, error) {
	n := 0
	for _, id := range messageIDs {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		matches, err := filepath.Glob(filepath.Join(f.dir, "*-"+globEscape(id)+".eml"))
		if err != nil {
			return n, fmt.Errorf("outbox: file mailer: %w", err)
		}
		for _, m := range matches {
			if err := os.Remove(m); err != nil && !errors.Is(err, os.ErrNotExist) {
				return n, fmt.Errorf("outbox: file mailer: %w", err)
			}
			n++
		}
	}
	return n, nil
}

// globEscape quotes the characters filepath.Glob gives a meaning.
func globEscape(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', '\\':
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return string(b)
}

// Path is the file a message is written to.
func (f *FileMailer) Path(m Message) string {
	return filepath.Join(f.dir, m.CreatedAt.UTC().Format("20060102")+"-"+m.ID+".eml")
}

// Send writes the message atomically: a temporary file in the same directory, synced, then
// renamed over the final name. Files are 0600: link mails hold live tokens.
func (f *FileMailer) Send(ctx context.Context, m Message) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	b, err := render(m)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(f.dir, ".outbox-*.tmp")
	if err != nil {
		return fmt.Errorf("outbox: file mailer: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("outbox: file mailer: %w", err)
	}
	if _, err := tmp.Write(b); err != nil {
		return fmt.Errorf("outbox: file mailer: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("outbox: file mailer: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("outbox: file mailer: %w", err)
	}
	if err := os.Rename(tmp.Name(), f.Path(m)); err != nil {
		return fmt.Errorf("outbox: file mailer: %w", err)
	}
	// Make the rename durable; a failure here leaves the file in place, so it is not an error.
	if d, err := os.Open(f.dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
