package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"accountd/http/client"
	"accountd/http/serve"
	"accountd/projections"
	"accountd/projections/streams"
)

// streamFlags are serve's log stream settings. Each repeatable flag also takes several
// NAME=VALUE entries separated by spaces in one value, which is how its ACCOUNTD_STREAM...
// variable gives more than one.
type streamFlags struct {
	streams, filters, secrets wordsFlag
	pauseAfter                int
}

func (f *streamFlags) register(fs *flag.FlagSet) {
	fs.Var(&f.streams, "stream", "log stream `NAME=URL`, repeatable: nats://HOST:4222?subject=SUBJECT[&stream=JETSTREAM], amqp://USER:PASS@HOST:5672/?exchange=EXCHANGE[&queue=QUEUE], https://HOST/PATH")
	fs.Var(&f.filters, "stream-filter", "what a stream sends, `NAME=category:C1,C2`, NAME=type:EVENT_TYPE,... or NAME=property:ID,... (repeatable; kinds combine with AND)")
	fs.Var(&f.secrets, "stream-secret", "webhook signing secret, `NAME=SECRET` (required for webhooks; prefer the environment variable)")
	fs.IntVar(&f.pauseAfter, "stream-pause-after", streams.DefaultPauseAfter, "consecutive failed deliveries after which a stream pauses (it probes and resumes on its own)")
}

// wordsFlag is a repeatable flag whose every value may hold several space-separated words.
type wordsFlag []string

func (w *wordsFlag) String() string { return strings.Join(*w, " ") }
func (w *wordsFlag) Set(v string) error {
	*w = append(*w, strings.Fields(v)...)
	return nil
}

// configs turns the flags into stream configurations, naming the flag of every mistake.
func (f *streamFlags) configs() ([]streams.Config, error) {
	if f.pauseAfter < 1 {
		return nil, errors.New("--stream-pause-after: want at least 1")
	}
	var out []streams.Config
	index := map[string]int{}
	for _, entry := range f.streams {
		name, raw, ok := strings.Cut(entry, "=")
		if !ok || !streams.ValidName(name) {
			return nil, fmt.Errorf("--stream %q: want NAME=URL, NAME of letters, digits, - and _", streams.Redact(entry))
		}
		if _, dup := index[name]; dup {
			return nil, fmt.Errorf("--stream %s given twice", name)
		}
		d, err := streams.ParseDestination(raw)
		if err != nil {
			return nil, fmt.Errorf("--stream %s: %w", name, err)
		}
		index[name] = len(out)
		out = append(out, streams.Config{Name: name, Destination: d, PauseAfter: f.pauseAfter})
	}
	lookup := func(flagName, entry string) (*streams.Config, string, error) {
		name, value, ok := strings.Cut(entry, "=")
		if !ok || value == "" {
			return nil, "", fmt.Errorf("--%s: want NAME=VALUE", flagName)
		}
		i, ok := index[name]
		if !ok {
			return nil, "", fmt.Errorf("--%s %s: no --stream %s=URL", flagName, name, name)
		}
		return &out[i], value, nil
	}
	for _, entry := range f.filters {
		c, spec, err := lookup("stream-filter", entry)
		if err != nil {
			return nil, err
		}
		g, err := streams.ParseFilter(spec)
		if err == nil {
			c.Filter, err = c.Filter.And(g)
		}
		if err != nil {
			return nil, fmt.Errorf("--stream-filter %s: %w", c.Name, err)
		}
	}
	for _, entry := range f.secrets {
		c, secret, err := lookup("stream-secret", entry)
		if err != nil {
			return nil, err
		}
		c.Secret = []byte(secret)
	}
	for _, c := range out {
		if err := c.Validate(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

const streamsUsage = `Usage: accountd streams reset NAME --from POSITION [flags]

Makes the log stream NAME send again from log position POSITION (1: the whole log). The
envelopes carry the same event IDs as the first time, so receivers recognise what they
already hold (JetStream drops them itself within its duplicate window).

With the server running on --data the reset happens inside it (POST
/v1/admin/streams/NAME/reset with the admin token of --data/tokens or --token); with no
server, the command writes the stream's checkpoint in --data/streams.db, holding the data
directory's lock, and the stream replays when the server starts.

Examples:
  accountd streams reset siem --from 1 --data /var/lib/accountd
  accountd streams reset helpdesk --from 120000 --server http://10.0.0.5:8080 --token "$ADMIN_TOKEN"

Flags (environment equivalent in brackets):
`

func runStreams(args, environ []string, stdout, stderr io.Writer) error {
	fs := newToolFlags("streams reset", streamsUsage, stderr)
	var store storeFlags
	store.register(fs)
	from := fs.Int64("from", -1, "first log `position` to send again (1: the whole log)")
	server := fs.String("server", "", "reset through the server at this `URL` (default: the one running on --data, if any)")
	token := fs.String("token", "", "admin token for --server (default: the admin token in --data/tokens)")
	if len(args) > 0 && (args[0] == "--help" || args[0] == "-h" || args[0] == "-help" || args[0] == "help") {
		fs.SetOutput(stdout)
		fs.Usage()
		return nil
	}
	if len(args) == 0 || args[0] != "reset" {
		fs.Usage()
		return usageError{errors.New("want: accountd streams reset NAME --from POSITION")}
	}
	pos, err := parseInterleaved(fs, args[1:], environ)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{errors.New("want exactly one stream NAME")}
	}
	if *from < 0 {
		return usageError{errors.New("--from: want the first log position to send again (1: the whole log)")}
	}
	name, position := pos[0], uint64(*from)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	online := func() error {
		t := *token
		if t == "" {
			if t, err = adminToken(store.data); err != nil {
				return fmt.Errorf("%w; give one with --token", err)
			}
		}
		c := client.New(*server, t, &http.Client{Timeout: 30 * time.Second})
		st, err := c.ResetStream(ctx, name, position)
		if err != nil {
			return refusedBy(c, err)
		}
		fmt.Fprintf(stdout, "stream %s reset online: it sends again from log position %d (lag %d events)\n", name, position, st.Lag)
		return nil
	}
	if *server != "" {
		return online()
	}
	release, err := serve.LockDataDir(store.data)
	if errors.Is(err, serve.ErrDataDirInUse) {
		if *server, err = serve.ServerURL(store.data); err != nil {
			return fmt.Errorf("a server holds %s but %w; give its address with --server", store.data, err)
		}
		return online()
	}
	if err != nil {
		return err
	}
	defer release()
	log, err := store.openLog()
	if err != nil {
		return err
	}
	defer log.Close()
	if shared, ok := serve.SharedStreamPositions(log); ok {
		// A shared log keeps the streams' checkpoints beside their leases: the reset there
		// also stops whichever node runs the stream now, and the next holder resends.
		if err := streams.ResetIn(ctx, log, shared, name, position); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "stream %s reset in the shared log: it sends again from log position %d\n", name, position)
		return nil
	}
	db, err := projections.OpenDB(filepath.Join(store.data, serve.StreamsFile))
	if err != nil {
		return err
	}
	defer db.Close()
	if err := streams.ResetOffline(ctx, log, db, name, position, time.Now()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "stream %s reset: it sends again from log position %d when the server starts\n", name, position)
	return nil
}
