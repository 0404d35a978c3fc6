package main

import (
	"flag"
	"fmt"
	"sort"
	"strings"
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
// equivalent, so the precedence is flag, then environment, then default.
func applyEnv(fs *flag.FlagSet, env map[string]string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || given[f.Name] {
			return
		}
		v, ok := env[envName(f.Name)]
		if !ok {
			return
		}
		if serr := fs.Set(f.Name, v); serr != nil {
			err = usageError{fmt.Errorf("%s=%q: %v", envName(f.Name), v, serr)}
		}
	})
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

// toolEnv lists the environment variables of the other subcommands' flags. One shell often
// serves every subcommand, so serve must not call them unknown; TestToolEnvIsComplete keeps
// the list equal to what the subcommands' --help says they read.
var toolEnv = []string{
	"ACCOUNTD_ACCOUNT", "ACCOUNTD_ACCOUNTS", "ACCOUNTD_AT", "ACCOUNTD_C", "ACCOUNTD_CONNECTIONS",
	"ACCOUNTD_D", "ACCOUNTD_DURATION", "ACCOUNTD_FROM", "ACCOUNTD_LOCKOUT_DURATION",
	"ACCOUNTD_LOCKOUT_THRESHOLD", "ACCOUNTD_LOG_EVERY", "ACCOUNTD_MAX_RATE",
	"ACCOUNTD_MAX_REQUESTS", "ACCOUNTD_MONTHS", "ACCOUNTD_OUT", "ACCOUNTD_PATH",
	"ACCOUNTD_PROJECTION", "ACCOUNTD_PROPERTIES", "ACCOUNTD_PROPERTY", "ACCOUNTD_RATE",
	"ACCOUNTD_READS_PER_LOGIN", "ACCOUNTD_SEED", "ACCOUNTD_SERVER",
	"ACCOUNTD_TO", "ACCOUNTD_TOKEN", "ACCOUNTD_URL", "ACCOUNTD_WARMUP", "ACCOUNTD_WORKLOAD",
	"ACCOUNTD_ACCESS_LOG", "ACCOUNTD_CHECKPOINT", "ACCOUNTD_VERIFIER_KEY",
}
