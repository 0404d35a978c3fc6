package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/mod/sumdb/note"

	"accountd/domain"
	"accountd/eventstore/archive"
	"accountd/eventstore/eventlog"
	"accountd/eventstore/sqlite"
	"accountd/eventstore/transparency"
)

const archiveUsage = `Usage: accountd archive [verify] [flags]

accountd archive seals the events older than the hot window (--hot-window, default 3 months,
never shorter: PCI DSS 10.5.1 keeps the last 3 months at hand) into archive segments in
--archive (default DATA/archive, may be other storage): zstd-compressed files, each a range
of positions with the events exactly as stored, the tree hashes proofs need and a
checkpoint signed with the node's transparency key. The events leave events.db, which is
vacuumed; history, status at an instant, evidence exports, proofs and accountd verify reach
into the segments by themselves. An event's age is its domain time (occurred_at); sealing
stops at the first event that is not old enough, so the archive is always a prefix.

accountd archive verify checks every segment offline: layout and body hash, the hash chain
and the tree recomputed from the events, the checkpoint signature against the node's public
key (--verifier-key, default the local signing key's), each segment continuing the one
before, the segments being exactly those the log recorded, and the live log continuing the
last. It fails (exit status 1) naming the first bad segment.

The SQLite log only, with the server stopped (events.db is opened exclusively). Run it from
cron monthly, for example; sealing an already sealed log is a no-op.

Examples:
  accountd archive --data /var/lib/accountd --archive /mnt/cold/accountd
  accountd archive verify --data /var/lib/accountd --archive /mnt/cold/accountd

Flags (environment equivalent in brackets):
`

// minHotWindow is the shortest hot window: 3 calendar months.
const minHotWindow = 3

// hotWindow is a span back from now: months (3mo) or days (92d). Months are calendar
// months, so "3mo" on 31 May keeps everything since 28 February.
type hotWindow struct {
	months, days int
}

var hotWindowSyntax = regexp.MustCompile(`^([0-9]+)(mo|d)$`)

func (h *hotWindow) String() string {
	if h.days > 0 {
		return strconv.Itoa(h.days) + "d"
	}
	return strconv.Itoa(h.months) + "mo"
}

func (h *hotWindow) Set(s string) error {
	m := hotWindowSyntax.FindStringSubmatch(s)
	if m == nil {
		return fmt.Errorf("want months (3mo) or days (92d), got %q", s)
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return err
	}
	w := hotWindow{}
	if m[2] == "mo" {
		w.months = n
	} else {
		w.days = n
	}
	*h = w // checked once parsed, where the typed error survives (flag flattens Set's)
	return nil
}

// check refuses a window shorter than 3 months: for days, shorter than the longest 3
// months of the calendar (92 days), so that no date makes it shorter.
func (h hotWindow) check() error {
	if h.months < minHotWindow && h.days < 92 {
		return &domain.Error{Code: domain.CodeHotWindowTooShort,
			Message: fmt.Sprintf("hot window %s is shorter than %d months (92 days): the last 3 months stay in the live log", h.String(), minHotWindow)}
	}
	return nil
}

// cutoff is the instant before which events are sealed.
func (h hotWindow) cutoff(now time.Time) time.Time {
	return now.AddDate(0, -h.months, -h.days)
}

func runArchive(args, environ []string, stdout, stderr io.Writer) error {
	verify := len(args) > 0 && args[0] == "verify"
	if verify {
		args = args[1:]
	}
	fs := newToolFlags("archive", archiveUsage, stderr)
	var sf storeFlags
	sf.register(fs)
	var vf verifyFlags
	vf.register(fs)
	window := hotWindow{months: minHotWindow}
	fs.Var(&window, "hot-window", "how far back events stay in events.db: `N`mo (calendar months) or Nd; at least 3mo (PCI DSS 10.5.1)")
	segmentEvents := fs.Int("segment-events", sqlite.DefaultSegmentEvents, "events per archive segment at most")
	asOf := fs.String("as-of", "", "seal as if now were this RFC 3339 `instant` (default: the clock)")
	pos, err := parseInterleaved(fs, args, environ)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", pos[0])}
	}
	if err := window.check(); err != nil {
		return usageError{err}
	}
	if sf.store != "" && sf.store != "sqlite" {
		return usageError{fmt.Errorf("--store %s: archival is for the sqlite log (a PostgreSQL log is not archived yet)", sf.store)}
	}
	now := time.Now().UTC()
	if *asOf != "" {
		if now, err = time.Parse(time.RFC3339, *asOf); err != nil {
			return usageError{fmt.Errorf("--as-of %q: want an RFC 3339 instant", *asOf)}
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	store, err := openSQLiteLog(&sf)
	if err != nil {
		return err
	}
	defer store.Close()
	if verify {
		verifiers, err := vf.verifiers(sf.data)
		if err != nil {
			return err
		}
		if vf.verifierKey == "" {
			// Segments sealed before a key rotation carry the retired key's signature.
			verifiers = append(verifiers, retiredVerifiers(vf.keys.keyPath(sf.data))...)
		}
		return archiveVerify(ctx, store, verifiers, stdout)
	}
	key, err := transparency.LoadSigningKey(vf.keys.keyPath(sf.data))
	if err != nil {
		return fmt.Errorf("archive: the segments are signed with the node's checkpoint key: %w", err)
	}
	return archiveSeal(ctx, store, sqlite.SealOptions{Before: window.cutoff(now), Age: eventlog.OccurredAt,
		Signers: []note.Signer{key.Signer}, SegmentEvents: *segmentEvents, Vacuum: true}, stdout)
}

// retiredVerifiers are the keys accountd keys rotate retired beside the signing key.
func retiredVerifiers(keyPath string) []note.Verifier {
	paths, _ := filepath.Glob(keyPath + ".retired-*")
	var out []note.Verifier
	for _, p := range paths {
		if k, err := transparency.LoadSigningKey(p); err == nil {
			out = append(out, k.Verifier)
		}
	}
	return out
}

// openSQLiteLog opens the sqlite log the flags name.
func openSQLiteLog(sf *storeFlags) (*sqlite.Store, error) {
	s, err := sf.openRaw()
	if err != nil {
		return nil, err
	}
	store, ok := s.(*sqlite.Store)
	if !ok {
		s.Close()
		return nil, usageError{errors.New("archival is for the sqlite log")}
	}
	return store, nil
}

func archiveSeal(ctx context.Context, store *sqlite.Store, opts sqlite.SealOptions, stdout io.Writer) error {
	began := time.Now()
	cutoff := opts.Before
	rep, err := store.Seal(ctx, opts)
	for _, s := range rep.Segments {
		fmt.Fprintf(stdout, "sealed %s: positions %d..%d, %d bytes\n", s.File, s.First, s.Last, s.Size)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "archive: %d event(s) sealed in %d segment(s) (events before %s) in %s; archived through position %d in %s\n",
		rep.Events, len(rep.Segments), cutoff.Format(time.RFC3339), time.Since(began).Round(time.Millisecond), rep.Through, store.ArchiveDir())
	fmt.Fprintf(stdout, "events.db and its WAL: %d bytes before, %d after\n", rep.FileBefore, rep.FileAfter)
	return nil
}

func archiveVerify(ctx context.Context, store *sqlite.Store, verifiers []note.Verifier, stdout io.Writer) error {
	rep, err := store.VerifyArchive(ctx, verifiers...)
	if err != nil {
		var se *archive.SegmentError
		if errors.As(err, &se) {
			return fmt.Errorf("archive verify: FAILED at segment %s (%d segment(s) before it verified): %s", se.File, len(rep.Segments), se.Reason)
		}
		return fmt.Errorf("archive verify: FAILED: %w", err)
	}
	var bytes int64
	for _, s := range rep.Segments {
		bytes += s.Size
	}
	fmt.Fprintf(stdout, "archive verify: OK: %d segment(s), positions 1..%d, %d bytes, in %s; the live log continues it\n",
		len(rep.Segments), rep.Through, bytes, store.ArchiveDir())
	return nil
}

var _ flag.Value = (*hotWindow)(nil)
