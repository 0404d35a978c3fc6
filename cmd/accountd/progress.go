package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

// progress reports a long job (rebuild, demo) to stderr: a redrawn bar with rate and ETA
// when stderr is a terminal, plain log lines every logEvery otherwise (CI logs, files,
// journald), because carriage-return redraws turn into thousands of lines there.
//
// The terminal test is golang.org/x/term: maintained by the Go team, one small package
// whose only dependency (x/sys) the module already has. A full progress-bar library such
// as schollz/progressbar would pull in more modules for the few lines of drawing below.
type progress struct {
	w        io.Writer
	tty      bool
	width    int
	label    string
	unit     string
	start    time.Time
	last     time.Time // last draw or log line
	logEvery time.Duration
	// base is where the job stood when the bar began (a bar that joins a job under way,
	// as the online rebuild's does), so the rate counts only what was done since.
	base uint64
}

// drawEvery bounds terminal redraws: faster is invisible and costs the job time.
const drawEvery = 100 * time.Millisecond

func newProgress(w io.Writer, label, unit string, logEvery time.Duration) *progress {
	p := &progress{w: w, label: label, unit: unit, start: time.Now(), logEvery: logEvery, width: 80}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 40 {
			p.width = cols
		}
	}
	return p
}

// update reports done of total (total 0: unknown).
func (p *progress) update(done, total uint64) {
	now := time.Now()
	every := p.logEvery
	if p.tty {
		every = drawEvery
	}
	if now.Sub(p.last) < every {
		return
	}
	p.last = now
	p.emit(done, total, false)
}

// finish prints the final state, ending the terminal line.
func (p *progress) finish(done, total uint64) {
	p.emit(done, total, true)
}

func (p *progress) emit(done, total uint64, final bool) {
	elapsed := time.Since(p.start)
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 && done > p.base {
		rate = float64(done-p.base) / s
	}
	eta := "?"
	if total > done && rate > 0 {
		eta = time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second).String()
	} else if total > 0 && done >= total {
		eta = "0s"
	}
	pct := 0.0
	if total > 0 {
		pct = 100 * float64(min(done, total)) / float64(total)
	}
	stats := fmt.Sprintf("%d/%d %s %5.1f%% %s/s ETA %s", done, total, p.unit, pct, human(rate), eta)
	if final {
		stats = fmt.Sprintf("%d %s in %s, %s %s/s", done, p.unit, elapsed.Round(time.Millisecond), human(rate), p.unit)
	}
	if !p.tty {
		fmt.Fprintf(p.w, "%s %s: %s\n", time.Now().UTC().Format(time.RFC3339), p.label, stats)
		return
	}
	bar := p.width - len(p.label) - len(stats) - 6
	line := p.label + " " + stats
	if bar >= 10 && !final {
		fill := int(float64(bar) * pct / 100)
		line = fmt.Sprintf("%s [%s%s] %s", p.label, strings.Repeat("=", fill), strings.Repeat(" ", bar-fill), stats)
	}
	end := ""
	if final {
		end = "\n"
	}
	// \033[K clears what a longer previous line left at the end.
	fmt.Fprintf(p.w, "\r%s\033[K%s", line, end)
}

// human prints a rate with a k or M suffix.
func human(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	default:
		return fmt.Sprintf("%.0f", v)
	}
}
