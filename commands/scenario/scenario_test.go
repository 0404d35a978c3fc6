package scenario_test

import (
	"path/filepath"
	"testing"

	"accountd/commands/scenario"
)

// TestStories plays every story of testdata/scenarios. A story marked `skip:` documents a
// known disagreement between the engine and RULES.md; it is still played, so that the day
// the engine is fixed the stale skip line is reported instead of hiding a passing story.
func TestStories(t *testing.T) {
	files, err := filepath.Glob("../../testdata/scenarios/*.story")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no stories found in testdata/scenarios")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			story, err := scenario.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			err = scenario.Run(t.Context(), story)
			if story.Skip != "" {
				if err == nil {
					t.Fatalf("%s:%d: the story is marked skip (%s) but now passes: remove the skip line", file, story.SkipLine, story.Skip)
				}
				t.Skipf("skip: %s\nit still fails as expected:\n%v", story.Skip, err)
			}
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
