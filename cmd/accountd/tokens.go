package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"accountd/http/api"
	"accountd/http/serve"
)

const tokensUsage = `Usage:
  accountd tokens list   [--data DIR]
  accountd tokens add    --role ROLE[+ROLE] [--data DIR]
  accountd tokens revoke FINGERPRINT [--data DIR]

Manages the API's client tokens in DATA/tokens (one token:role per line). list shows each
token by a fingerprint (the start of its SHA-256), never the secret; add prints the new
secret once; revoke removes a token by its fingerprint. A running server re-reads the file
within seconds, no restart needed; a file that does not parse leaves its clients as they were.
Roles: login-service, security, auditor, admin.

Examples:
  accountd tokens list
  accountd tokens add --role login-service
  accountd tokens revoke 3f9a0c12be44

Flags (environment equivalent in brackets):
`

func runTokens(args, environ []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, tokensUsage)
		return usageError{errors.New("want a subcommand: list, add or revoke")}
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "list", "add", "revoke":
	case "-h", "--help", "-help", "help":
		sub, rest = "list", []string{"--help"}
	default:
		return usageError{fmt.Errorf("unknown subcommand %q: want list, add or revoke", sub)}
	}
	fs := newToolFlags("tokens", tokensUsage, stderr)
	data := fs.String("data", "./data", "data directory (its tokens file)")
	role := fs.String("role", "", "for add: the token's `roles`, joined by +")
	pos, err := parseInterleaved(fs, rest, environ)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	path := filepath.Join(*data, "tokens")
	switch sub {
	case "list":
		if len(pos) > 0 {
			return usageError{fmt.Errorf("unexpected argument %q", pos[0])}
		}
		tokens, err := serve.ListTokens(path)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "FINGERPRINT\tROLES")
		for _, t := range tokens {
			names := make([]string, len(t.Roles))
			for i, r := range t.Roles {
				names[i] = string(r)
			}
			fmt.Fprintf(tw, "%s\t%s\n", t.Fingerprint, strings.Join(names, "+"))
		}
		return tw.Flush()
	case "add":
		if *role == "" || len(pos) > 0 {
			return usageError{errors.New("want --role ROLE[+ROLE] and no argument")}
		}
		var roles []api.Role
		for _, r := range strings.Split(*role, "+") {
			roles = append(roles, api.Role(strings.TrimSpace(r)))
		}
		secret, err := serve.AddToken(path, roles)
		if err != nil {
			return usageError{err}
		}
		fmt.Fprintf(stdout, "%s:%s\n", secret, *role)
		fmt.Fprintf(stderr, "added token %s to %s; this is the only time its secret is shown\n", serve.Fingerprint(secret), path)
		return nil
	default:
		if len(pos) != 1 {
			return usageError{errors.New("want the fingerprint of the token to revoke (accountd tokens list)")}
		}
		if err := serve.RevokeToken(path, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revoked token %s in %s\n", pos[0], path)
		return nil
	}
}
