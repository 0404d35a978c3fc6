package main

import (
	"bytes"
	"regexp"
	"testing"
)

// Every ACCOUNTD_ variable a subcommand's --help lists is known to serve (its own flags, or
// toolEnv), so serve never warns about a variable set for rebuild, bench or history; and
// toolEnv names nothing no subcommand reads.
func TestToolEnvIsComplete(t *testing.T) {
	fs, _ := newServeFlags(&bytes.Buffer{})
	listed := regexp.MustCompile(`\[(ACCOUNTD_[A-Z0-9_]+)\]`)
	read := map[string]bool{}
	for _, cmd := range [][]string{{"serve"}, {"history"}, {"what-if"}, {"rebuild"}, {"evidence", "export"}, {"evidence", "verify"}, {"verify"}, {"sweep"}, {"demo"}, {"bench"}} {
		var out bytes.Buffer
		if code := run(append(cmd, "--help"), nil, &out, &out); code != 0 {
			t.Fatalf("%v --help: exit %d", cmd, code)
		}
		for _, m := range listed.FindAllStringSubmatch(out.String(), -1) {
			read[m[1]] = true
		}
	}
	if len(read) < 20 {
		t.Fatalf("found only %d variables in the --help texts: the pattern no longer matches", len(read))
	}
	for name := range read {
		if unknownEnv(fs, map[string]string{name: "x"}, toolEnv...) != nil {
			t.Errorf("%s is read by a subcommand but serve would call it unknown: add it to toolEnv", name)
		}
	}
	for _, name := range toolEnv {
		if !read[name] {
			t.Errorf("toolEnv names %s, which no subcommand's --help lists", name)
		}
	}
}
