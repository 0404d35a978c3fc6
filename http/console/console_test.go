package console

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
	"time"

	"accountd/domain/messages"
)

// Every word of the console is written in every language, and every key a template or the
// code asks for is in the catalog (text returns the key itself for a missing one, which a
// reader would see on the page).
func TestCatalogIsComplete(t *testing.T) {
	for key, tx := range catalog {
		for _, l := range messages.Langs {
			if strings.TrimSpace(tx[l]) == "" {
				t.Errorf("%s has no %s text", key, l)
			}
		}
	}
	used := regexp.MustCompile(`\.T[f]? "([a-z_-]+)"`)
	_ = fs.WalkDir(files, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := fs.ReadFile(files, path)
		for _, m := range used.FindAllStringSubmatch(string(b), -1) {
			if _, ok := catalog[m[1]]; !ok {
				t.Errorf("%s uses %q, which the catalog lacks", path, m[1])
			}
		}
		return nil
	})
	for _, prefix := range []string{"action_", "confirm_", "done_"} {
		for name := range actions {
			if _, ok := catalog[prefix+name]; !ok {
				t.Errorf("the action %s has no %s text", name, prefix)
			}
		}
	}
	for kind := range linkRoutes {
		for _, prefix := range []string{"link_", "link_done_"} {
			if _, ok := catalog[prefix+kind]; !ok {
				t.Errorf("the link page %s has no %s text", kind, prefix)
			}
		}
	}
}

func TestParseLocal(t *testing.T) {
	want := time.Date(2026, 3, 2, 9, 1, 9, 0, time.UTC)
	for _, tc := range []struct {
		in string
		ok bool
	}{{"2026-03-02T09:01:09", true}, {"2026-03-02T09:01:09Z", true}, {"2026-03-02T10:01:09+01:00", true}, {"2026-03-02T09:01", true}, {"yesterday", false}} {
		got, ok := parseLocal(tc.in)
		if ok != tc.ok || (ok && tc.in != "2026-03-02T09:01" && !got.Equal(want)) {
			t.Errorf("%q: %v %v", tc.in, got, ok)
		}
	}
	if v := localValue(want); v != "2026-03-02T09:01:09" {
		t.Errorf("localValue %q", v)
	}
}

func TestBarChart(t *testing.T) {
	c := barChart("x", []string{"a", "b", "c"}, []int{0, 5, 10})
	if c.Total != 15 || c.Max != 10 || len(c.Bars) != 3 || c.Bars[0].H != 0 || c.Bars[2].H != chartPlotHeight || c.Bars[1].H != chartPlotHeight/2 {
		t.Fatalf("%+v", c)
	}
	if c.Bars[2].Y+c.Bars[2].H != c.Bars[0].Y+c.Bars[0].H {
		t.Errorf("bars do not share a baseline: %+v", c.Bars)
	}
	if empty := barChart("y", []string{"a"}, []int{0}); empty.Bars[0].H != 0 || empty.MaxLabel() != "0" {
		t.Errorf("an empty chart: %+v", empty)
	}
}
