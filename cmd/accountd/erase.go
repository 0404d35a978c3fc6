package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"accountd/eventstore/eventlog"
	"accountd/http/api"
	"accountd/http/client"
	"accountd/http/serve"
)

const eraseUsage = `Usage: accountd erase --account ID --reason TEXT [flags]

Erases an account and its personal data (GDPR Art. 17) through the running server, as
POST /v1/accounts/{id}/erasure does: the erasure is recorded (who, when, why; no personal
data), the address is released so it can register again as a new account, the key the
account's personal data is sealed under is destroyed (its e-mail, addresses, user agents
and devices read [erased] from then on, in the log, backups and archives alike), and the
server's cached state and snapshots of the account are dropped. The read models forget the
account as they reach the erasure; its status still answers (deleted), it never signs in
again and is never restored.

It goes through the server because the server holds the key store and the cached state
an erasure must reach: the command finds it through --data (the server records its address
in server.url) or --server, and authenticates with the admin token of --data/tokens or
--token. With no server running, start it first.

Every erasure has a command ID (printed; --command-id to choose it). If the command fails
half-way (the server stopped, the network), run it again with the same --command-id: the
steps done are not repeated, the ones left are finished.

Examples:
  accountd erase --data /var/lib/accountd --account 0193a1b2-... --reason "GDPR request #4512"
  accountd erase --server http://10.0.0.5:8080 --token "$ADMIN_TOKEN" --account 0193a1b2-... \
      --reason "GDPR request #4512" --support-reference "REQ-4512"

Flags (environment equivalent in brackets):
`

func runErase(args, environ []string, stdout, stderr io.Writer) error {
	fs := newToolFlags("erase", eraseUsage, stderr)
	var data, server, token, account, reason, support, actorAccount, commandID string
	fs.StringVar(&data, "data", "./data", "data directory of the running server (its address and admin token)")
	fs.StringVar(&server, "server", "", "erase through the server at this `URL` (default: the one running on --data)")
	fs.StringVar(&token, "token", "", "admin token for --server (default: the admin token in --data/tokens)")
	fs.StringVar(&account, "account", "", "`ID` of the account to erase")
	fs.StringVar(&reason, "reason", "", "why (a request reference; at most 500 characters, no personal data)")
	fs.StringVar(&support, "support-reference", "", "the written request support acts on (the actor; default: the admin API itself)")
	fs.StringVar(&actorAccount, "actor-account", "", "`ID` of the colleague's account acting (needs user management on the account's property)")
	fs.StringVar(&commandID, "command-id", "", "the erasure's command `ID`: give the one printed by a failed run to finish it (default: a new one)")
	pos, err := parseInterleaved(fs, args, environ)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", pos[0])}
	}
	if strings.TrimSpace(account) == "" {
		return usageError{errors.New("--account: the ID of the account to erase is required")}
	}
	if strings.TrimSpace(reason) == "" {
		return usageError{errors.New("--reason: an erasure needs a reason")}
	}
	if server == "" {
		if server, err = serve.ServerURL(data); err != nil {
			return fmt.Errorf("no server is running on %s (%w): start it, or give the address of one with --server", data, err)
		}
	}
	if token == "" {
		if token, err = adminToken(data); err != nil {
			return fmt.Errorf("%w; give one with --token", err)
		}
	}
	if commandID == "" {
		commandID = "erase-" + eventlog.NewCommandID()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(stderr, "erasing account %s through %s (command ID %s)\n", account, server, commandID)
	c := client.New(server, token, &http.Client{Timeout: time.Minute})
	done, err := c.Erase(ctx, account, api.ErasureRequest{Reason: reason, SupportReference: support, ActorAccountID: actorAccount}, commandID)
	if err != nil {
		return fmt.Errorf("%w (to finish an interrupted erasure, run again with --command-id %s)", refusedBy(c, err), commandID)
	}
	fmt.Fprint(stdout, erasureReport(done))
	return nil
}

// erasureReport says what the erasure did, one step a line.
func erasureReport(d api.ErasureWritten) string {
	var b strings.Builder
	if d.AlreadyErased {
		fmt.Fprintf(&b, "account %s was already erased; what was left is done (log position %d)\n", d.AccountID, d.Position)
	} else {
		fmt.Fprintf(&b, "account %s erased at log position %d; status %s\n", d.AccountID, d.Position, d.Status)
	}
	fmt.Fprintf(&b, "  address reservations released: %d; look-alike claim released: %t\n", d.ReleasedReservations, d.ReleasedSkeleton)
	if d.KeyDestroyed {
		fmt.Fprintf(&b, "  personal-data key of %s destroyed: its personal values read [erased]\n", d.Subject)
	} else {
		fmt.Fprintf(&b, "  no personal-data key store configured: nothing sealed to destroy for %s\n", d.Subject)
	}
	fmt.Fprintf(&b, "  cached state and snapshots dropped: %t\n", d.ForgotCache)
	return b.String()
}
