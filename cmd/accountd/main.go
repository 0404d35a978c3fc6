// Command accountd is the account-state engine: one binary, one subcommand per job.
//
//	accountd serve   run the HTTP API on the embedded SQLite store
//	accountd bench   drive a running server and report throughput and latency
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

const usage = `accountd: account-state engine for the hotel login system

Usage:
  accountd <command> [flags]

Commands:
  serve    run the HTTP API (embedded SQLite; no other setup needed)
  bench    load-test a running server: status reads, front-desk sign-ins, or both
  evidence export or verify a PCI DSS evidence bundle (accountd help evidence)
  verify   check the hash chain and the transparency tree, against a saved checkpoint too
  keys     print the checkpoint verifier key auditors pin, or rotate the signing key
  sweep    disable accounts inactive beyond the policy (PCI 8.2.6), once
  retention drop IP addresses, user agents and devices older than --personal-retention, once
  policy   print the effective policy: every setting, its default, range and source
  tokens   list, add or revoke API client tokens (a running server picks the change up)
  history  print an account's timeline, or its state at an instant, from the log
  what-if  replay recorded sign-ins under a candidate policy and compare lockouts
  rebuild  rebuild read models from the log and swap them in (online through a running server)
  demo     write a realistic demo history through the command side (server stopped)
  archive  seal events older than the hot window into signed segments; archive verify checks them
  streams  reset a log stream to replay from a position (accountd streams reset NAME --from N)
  erase    erase an account and its personal data (GDPR Art. 17) through the running server
  help     show help for a command: accountd help serve

Examples:
  accountd serve
  accountd serve --data /var/lib/accountd --addr 0.0.0.0:8080 --public-url https://login.example.com
  accountd bench --url http://127.0.0.1:8080 --data ./data --connections 64 --duration 10s

Every flag has an environment equivalent: ACCOUNTD_ and the flag name in capitals with
underscores (--public-url is ACCOUNTD_PUBLIC_URL). A flag given on the command line wins.
`

func main() {
	os.Exit(run(os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit code (0 ok, 1 failure, 2 usage).
func run(args, environ []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch c, ok := commandNamed(cmd); {
	case ok:
		err = c.run(rest, environ, stdout, stderr)
	case cmd == "help" || cmd == "-h" || cmd == "--help" || cmd == "-help":
		if len(rest) > 0 && rest[0] != "help" {
			return run([]string{rest[0], "--help"}, environ, stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "accountd: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(usageError)):
		fmt.Fprintf(stderr, "accountd %s: %v\n", cmd, err)
		return 2
	default:
		fmt.Fprintf(stderr, "accountd %s: %v\n", cmd, err)
		return 1
	}
}

// command is one subcommand: its name and its entry point, which takes the environment
// as a list so that tests hand each run its own.
type command struct {
	name string
	run  func(args, environ []string, stdout, stderr io.Writer) error
}

var subcommands []command

// init fills the table: runServe reaches it (through otherCommandsEnv), so a plain
// initialiser would be an initialisation cycle.
func init() {
	subcommands = []command{
		{"serve", func(args, environ []string, _, stderr io.Writer) error { return runServe(args, environ, stderr) }},
		{"bench", runBench}, {"evidence", runEvidence}, {"verify", runVerify}, {"keys", runKeys}, {"sweep", runSweep}, {"retention", runRetention},
		{"policy", runPolicy}, {"tokens", runTokens}, {"history", runHistory}, {"what-if", runWhatIf},
		{"rebuild", runRebuild}, {"demo", runDemo}, {"streams", runStreams}, {"erase", runErase}, {"archive", runArchive},
	}
}

func commandNamed(name string) (command, bool) {
	for _, c := range subcommands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// usageError is a mistake in flags or environment: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }
