package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"accountd/eventstore"
	"accountd/eventstore/personal"
	"accountd/eventstore/sqlite"
	"accountd/http/serve"
)

const verifyUsage = `Usage: accountd verify [flags]

Walks the whole hash chain of the event log in --data and reports the first position whose
stored hash does not match the event (PCI DSS 10.3.2 / 10.3.4). Then recomputes the
transparency tree from the events, compares every stored tree hash, and proves that the log
extends a signed checkpoint: the one in --checkpoint FILE (a note an auditor saved, checked
with --verifier-key, or with the local key when none is given), otherwise every checkpoint
the server signed and kept in DATA/checkpoints. A rewrite (even with every plain hash
recomputed), a reordering or a truncation below a signed checkpoint is reported with the
position. Exit status 0: intact; 1: broken or unreadable. With the SQLite log the server must be stopped (events.db is opened
exclusively); a PostgreSQL log can be verified while servers run.

Example:
  accountd verify --data /var/lib/accountd

Flags (environment equivalent in brackets):
`

// storeFlags are serve's flags that locate and open the event log, shared by the offline tools.
type storeFlags struct {
	data, sync, store, storeURL, archive string
	personalKeys                         string
}

func (f *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.data, "data", "./data", "data directory")
	fs.StringVar(&f.sync, "sync", "full", "event log durability: full (fsync every commit) or normal")
	fs.StringVar(&f.store, "store", "sqlite", "event log: sqlite (in --data), postgres or kurrentdb (at --store-url)")
	fs.StringVar(&f.storeURL, "store-url", "", "event log `URL` for --store postgres or kurrentdb")
	fs.StringVar(&f.personalKeys, "personal-keys", "", personalKeysHelp)
	fs.StringVar(&f.archive, "archive", "", "`DIR` of the sqlite log's archive segments (default DATA/archive)")
}

// personalKeysHelp is the help of --personal-keys, which serve and the offline tools share.
const personalKeysHelp = "key store of the sealed personal data, kept out of the log's backups: a SQLite `file` or a postgres:// URL (default DATA/personal-keys.db; with --store postgres, tables in the log's database; every node of a shared log needs the same one, so several kurrentdb nodes need a postgres:// URL)"

// chainStore is an event log that keeps the hash chain.
type chainStore interface {
	eventstore.Store
	eventstore.ChainVerifier
}

// openLog opens the event log the flags select behind the sealing store (personal data
// opened on read, sealed on append), as the server's command side and read models see
// it: what the tools that decode events need. Its Unwrap is the log as stored.
func (f *storeFlags) openLog() (*personal.Store, error) {
	cfg, err := f.config()
	if err != nil {
		return nil, err
	}
	return serve.OpenSealedStore(context.Background(), cfg)
}

// openRaw opens the event log as stored, on any backend (sqlite, postgres, kurrentdb):
// what the tools that prove (verify, the checkpoint signer) need, whose hashes commit to
// the stored bytes.
func (f *storeFlags) openRaw() (eventstore.Store, error) {
	cfg, err := f.config()
	if err != nil {
		return nil, err
	}
	return serve.OpenStore(context.Background(), cfg)
}

// config checks the flags: a mistake (a bad --sync, an unknown --store, a missing or stray
// --store-url) is a usage error.
func (f *storeFlags) config() (serve.Config, error) {
	cfg := serve.Config{DataDir: f.data, Store: f.store, StoreURL: f.storeURL, PersonalKeys: f.personalKeys, ArchiveDir: f.archive}
	switch f.sync {
	case "full":
		cfg.Sync = sqlite.Full
	case "normal":
		cfg.Sync = sqlite.Normal
	default:
		return cfg, usageError{fmt.Errorf("--sync %q: want full or normal", f.sync)}
	}
	switch f.store {
	case "", serve.StoreSQLite:
		if f.storeURL != "" {
			return cfg, usageError{errors.New("--store-url is only for --store postgres or kurrentdb")}
		}
		// Opening would create an empty log: say plainly that there is none.
		path := filepath.Join(f.data, "events.db")
		if _, err := os.Stat(path); err != nil {
			return cfg, fmt.Errorf("no event log at %s: %w", path, err)
		}
	case serve.StorePostgres, serve.StoreKurrentDB:
		if f.storeURL == "" {
			return cfg, usageError{fmt.Errorf("--store %s needs --store-url", f.store)}
		}
	default:
		return cfg, usageError{fmt.Errorf("--store %q: want sqlite, postgres or kurrentdb", f.store)}
	}
	return cfg, nil
}

// open opens the event log for the tools that rely on its hash chain (verify, evidence,
// rebuild), refusing a log that keeps none.
func (f *storeFlags) open() (chainStore, error) {
	s, err := f.openRaw()
	if err != nil {
		return nil, err
	}
	cs, ok := s.(chainStore)
	if !ok {
		s.Close()
		return nil, fmt.Errorf("the %s event log keeps no hash chain this tool can verify", f.store)
	}
	return cs, nil
}

// newToolFlags builds a flag set in the style of serve: --help prints usage, every flag has
// its ACCOUNTD_ environment equivalent.
func newToolFlags(name, usageText string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usageText)
		fs.VisitAll(func(fl *flag.Flag) {
			n, help := flag.UnquoteUsage(fl)
			fmt.Fprintf(fs.Output(), "  --%s %s\n    \t%s [%s]", fl.Name, n, help, envName(fl.Name))
			if fl.DefValue != "" {
				fmt.Fprintf(fs.Output(), " (default %q)", fl.DefValue)
			}
			fmt.Fprintln(fs.Output())
		})
	}
	return fs
}

// parseInterleaved parses flags that may come before or after positional arguments
// (accountd evidence verify FILE.zip --data DIR), returning the positionals.
func parseInterleaved(fs *flag.FlagSet, args, environ []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	return pos, applyEnv(fs, envMap(environ))
}

func runVerify(args, environ []string, stdout, stderr io.Writer) error {
	fs := newToolFlags("verify", verifyUsage, stderr)
	var sf storeFlags
	sf.register(fs)
	var vf verifyFlags
	vf.register(fs)
	pos, err := parseInterleaved(fs, args, environ)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", pos[0])}
	}
	store, err := sf.open()
	if err != nil {
		return err
	}
	defer store.Close()
	head, err := store.VerifyChain(context.Background())
	var broken *eventstore.ChainBrokenError
	if errors.As(err, &broken) {
		fmt.Fprintf(stdout, "BROKEN: hash chain broken at position %d: %s\n", broken.Position, broken.Reason)
		fmt.Fprintf(stdout, "the %d events before it verify; the head they reach is position %d, hash %s\n",
			head.Events, head.Position, hex.EncodeToString(head.Hash[:]))
	} else if err != nil {
		return err
	} else {
		fmt.Fprintf(stdout, "OK: hash chain intact: %d events, head position %d, hash %s\n", head.Events, head.Position, hex.EncodeToString(head.Hash[:]))
	}
	treeErr := verifyTree(context.Background(), store, &sf, &vf, stdout)
	if broken != nil {
		return errors.Join(broken, treeErr)
	}
	return treeErr
}
