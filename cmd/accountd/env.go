package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/peterbourgon/ff/v3"
)

// envPrefix names accountd's environment variables.
const envPrefix = "ACCOUNTD_"

// envName is a flag's environment equivalent: --public-url is ACCOUNTD_PUBLIC_URL.
func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// envMap turns os.Environ-style entries into a map.
func envMap(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

// applyEnv sets every flag not given on the command line from its environment
// equivalent, so the precedence is flag, then environment, then default. The flag's
// declaration is the only place either is named: ff (github.com/peterbourgon/ff/v3) maps
// --public-url to PUBLIC_URL under the ACCOUNTD_ prefix. The variables come from the
// environment given to run, not the process's, so tests hand each run its own; ff reads
// them through its config-file channel (a parser over that list) for that reason.
func applyEnv(fs *flag.FlagSet, env map[string]string) error {
	devNull := os.DevNull
	err := ff.Parse(fs, nil,
		ff.WithConfigFileVia(&devNull),
		ff.WithIgnoreUndefined(true),
		ff.WithConfigFileParser(func(_ io.Reader, set func(name, value string) error) error {
			names := make([]string, 0, len(env))
			for k := range env {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				name, ok := strings.CutPrefix(k, envPrefix)
				if !ok || env[k] == "" {
					continue
				}
				if err := set(name, env[k]); err != nil {
					return usageError{fmt.Errorf("%s=%q: %v", k, env[k], errors.Unwrap(err))}
				}
			}
			return nil
		}))
	var ue usageError
	if err != nil && !errors.As(err, &ue) {
		err = usageError{err}
	}
	return err
}

// unknownEnv lists ACCOUNTD_ variables that no flag or setting reads, so a typo is
// reported instead of silently ignored. (ACCOUNTD_POLICY_* are checked by loadPolicy,
// which refuses unknown settings.)
func unknownEnv(fs *flag.FlagSet, env map[string]string, extra ...string) []string {
	known := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) { known[envName(f.Name)] = true })
	for _, e := range extra {
		known[e] = true
	}
	var out []string
	for k := range env {
		if strings.HasPrefix(k, envPrefix) && !strings.HasPrefix(k, envPrefix+"POLICY_") && !known[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// listFlag is a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// otherCommandsEnv lists the variables the other commands read, from their own flag
// declarations (as their --help prints them), so serve does not call them unknown when
// one shell serves every command.
func otherCommandsEnv() []string {
	listed := regexp.MustCompile(`\[(ACCOUNTD_[A-Z0-9_]+)\]`)
	var out []string
	for _, c := range subcommands {
		if c.name == "serve" {
			continue
		}
		var help strings.Builder
		for _, args := range helpArgs(c.name) {
			_ = c.run(args, nil, &help, &help)
		}
		for _, m := range listed.FindAllStringSubmatch(help.String(), -1) {
			out = append(out, m[1])
		}
	}
	return out
}

// helpArgs are the runs that print a command's flags: its own --help, and each
// subcommand's for the commands that have them.
func helpArgs(name string) [][]string {
	switch name {
	case "evidence":
		return [][]string{{"export", "--help"}, {"verify", "--help"}}
	}
	return [][]string{{"--help"}}
}
