package evidence

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
)

// compareReport compares a report from the bundle with the one the events give, row by
// row, and names each row that differs. It returns the number of data rows derived.
func compareReport(name string, got, want []byte) (int, []string) {
	gl, wl := lines(got), lines(want)
	rows := max(len(wl)-1, 0)
	if bytes.Equal(got, want) {
		return rows, nil
	}
	var problems []string
	header := ""
	if len(wl) > 0 {
		header = wl[0]
	}
	for i := 0; i < max(len(gl), len(wl)) && len(problems) < 20; i++ {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g == w {
			continue
		}
		switch {
		case i == 0:
			problems = append(problems, fmt.Sprintf("%s: the header differs from the events' report", name))
		case i >= len(wl):
			problems = append(problems, fmt.Sprintf("%s row %d: not derived from any event in the bundle: %s", name, i, g))
		case i >= len(gl):
			problems = append(problems, fmt.Sprintf("%s row %d (%s): the events give this row, the bundle lacks it", name, i, rowKey(w)))
		default:
			problems = append(problems, fmt.Sprintf("%s row %d (%s) does not follow from the events: %s", name, i, rowKey(w), fieldDiff(header, g, w)))
		}
	}
	return rows, problems
}

// lines splits a report into its rows: CSV records end in CRLF, the JSON reports put one
// row on each line (after the head on the first).
func lines(b []byte) []string {
	s := strings.ReplaceAll(string(b), "\r\n", "\n")
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// rowKey is how a person finds the row: its first field (the account ID, or the log
// position of an access record).
func rowKey(row string) string {
	k, _, _ := strings.Cut(row, ",")
	if strings.HasPrefix(row, "{") {
		var r map[string]any
		if json.Unmarshal([]byte(strings.TrimSuffix(row, ",")), &r) == nil {
			for _, f := range []string{"account_id", "position"} {
				if v, ok := r[f]; ok {
					return fmt.Sprintf("%s %v", f, v)
				}
			}
		}
		return "line"
	}
	return k
}

// fieldDiff names the CSV columns that differ.
func fieldDiff(header, got, want string) string {
	h, g, w := splitCSV(header), splitCSV(got), splitCSV(want)
	if h == nil || g == nil || w == nil || len(g) != len(w) {
		return fmt.Sprintf("the bundle says %q, the events give %q", got, want)
	}
	var d []string
	for i := range w {
		if g[i] != w[i] {
			col := fmt.Sprintf("column %d", i+1)
			if i < len(h) {
				col = h[i]
			}
			d = append(d, fmt.Sprintf("%s is %q in the bundle, %q from the events", col, g[i], w[i]))
		}
	}
	return strings.Join(d, "; ")
}

func splitCSV(line string) []string {
	if strings.HasPrefix(line, "{") {
		return nil
	}
	rec, err := csv.NewReader(strings.NewReader(line)).Read()
	if err != nil {
		return nil
	}
	return rec
}
