package api

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"accountd/domain"
	"accountd/domain/messages"
)

// codeInSource finds the error codes the server can answer with: Code constants, Code
// fields of literals, and Code methods.
var codeInSource = regexp.MustCompile(`(?:\bCode\w*(?:\s+domain\.Code)?\s*=|\bCode:|Code\(\) domain\.Code \{ return)\s*"([a-z_]+)"`)

// Every error code written in the server's source has its message in every language: a
// code added without words fails here, not in front of a French client.
func TestEveryErrorCodeHasAMessageInEveryLanguage(t *testing.T) {
	seen := map[string]bool{}
	for _, dir := range []string{"../../domain", ".", "../../projections"} {
		err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range codeInSource.FindAllStringSubmatch(string(src), -1) {
				seen[m[1]] = true
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(seen) < 40 {
		t.Fatalf("found only %d codes: is the pattern still right?", len(seen))
	}
	for code := range seen {
		for _, lang := range messages.Langs {
			if msg, ok := messages.ErrorMessage(domain.Code(code), lang); !ok || msg == "" {
				t.Errorf("code %s has no %s message", code, lang)
			}
		}
	}
}
