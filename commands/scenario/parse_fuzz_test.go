package scenario

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// A story is refused with messages that name their file and line, or parses; a parsed
// story written back from its steps' own text (one per line) parses to the same steps.
// Nothing panics. The seeds are the repository's stories.
func FuzzParseStory(f *testing.F) {
	files, err := filepath.Glob("../../testdata/scenarios/*.story")
	if err != nil || len(files) == 0 {
		f.Fatalf("no stories: %v", err)
	}
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Add([]byte(preamble + "anna logs in with \"wrong\" six times\nexpect status locked with reasons account_locked\n"))
	f.Add([]byte("at 25:99\n\"unterminated\n\x00\xff"))
	f.Fuzz(func(t *testing.T, src []byte) {
		st, err := Parse("fuzz.story", src)
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				if strings.HasPrefix(line, "fuzz.story:") || strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") || line == "" {
					continue
				}
				t.Fatalf("a message does not name its line: %q", line)
			}
			return
		}
		var b strings.Builder
		if st.Title != "" {
			b.WriteString("# " + st.Title + "\n")
		}
		if st.Skip != "" {
			b.WriteString("skip: " + st.Skip + "\n")
		}
		for _, s := range st.Steps {
			b.WriteString(s.Text + "\n")
		}
		again, err := Parse("fuzz.story", []byte(b.String()))
		if err != nil {
			t.Fatalf("the story's own steps do not parse again: %v\n%s", err, b.String())
		}
		if len(again.Steps) != len(st.Steps) || again.Title != st.Title || again.Skip != st.Skip {
			t.Fatalf("round trip changed the story: %d steps -> %d", len(st.Steps), len(again.Steps))
		}
		for i := range st.Steps {
			if !reflect.DeepEqual(again.Steps[i].Do, st.Steps[i].Do) {
				t.Fatalf("step %q: %#v -> %#v", st.Steps[i].Text, st.Steps[i].Do, again.Steps[i].Do)
			}
		}
	})
}
