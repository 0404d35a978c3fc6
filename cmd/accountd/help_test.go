package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

// TestEverySubcommandExplainsItself runs --help, and help NAME, of every command the main
// usage lists: each names that command in its usage line and lists flags under every flags
// heading it prints (an empty section, or another command's text, fails).
func TestEverySubcommandExplainsItself(t *testing.T) {
	commands := regexp.MustCompile(`(?m)^  ([a-z-]+) `).FindAllStringSubmatch(usage[strings.Index(usage, "Commands:"):strings.Index(usage, "Examples:")], -1)
	if len(commands) < 10 {
		t.Fatalf("found %d commands in the usage text: the pattern no longer matches", len(commands))
	}
	heading := regexp.MustCompile(`(?m)^Flags.*:\n`)
	for _, m := range commands {
		name := m[1]
		if name == "help" {
			continue
		}
		for _, args := range [][]string{{name, "--help"}, {"help", name}} {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				var out bytes.Buffer
				if code := run(args, nil, &out, &out); code != 0 {
					t.Fatalf("exit %d:\n%s", code, out.String())
				}
				text := out.String()
				if !regexp.MustCompile(`(?m)^Usage:(\s+accountd ` + regexp.QuoteMeta(name) + `\b)`).MatchString(text) {
					t.Errorf("the usage does not name accountd %s:\n%s", name, text)
				}
				sections := heading.FindAllStringIndex(text, -1)
				if len(sections) == 0 {
					t.Errorf("no flags section:\n%s", text)
				}
				for _, s := range sections {
					if !strings.HasPrefix(text[s[1]:], "  --") {
						t.Errorf("a flags section lists no flag at offset %d:\n%s", s[0], text)
					}
				}
			})
		}
	}
}
