package serve

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"accountd/http/api"
	"accountd/projections"
	"accountd/projections/compliance"
	"accountd/projections/detectors"
	"accountd/projections/timeline"
)

// RebuildTarget is a projection accountd can rebuild, and the read-model file it lives in.
type RebuildTarget struct {
	Name       string // as operators name it: status, compliance, detectors, timeline
	Checkpoint string // the projection's Name(), accepted too
	File       string // in DataDir
}

// RebuildTargets lists every rebuildable projection, in rebuild order. The outbox is not
// one: it follows the log on its own (it sends mail), and its record of what it sent is in
// the log, so a replay of it (readmodels.db deleted with the server stopped) sends nothing
// again.
var RebuildTargets = []RebuildTarget{
	{"status", projections.StatusName, "readmodels.db"},
	{"compliance", compliance.Name, "readmodels.db"},
	{"detectors", detectors.Name, "security.db"},
	{"timeline", timeline.Name, "security.db"},
}

// LookupRebuildTargets resolves names (every target when there are none), in
// RebuildTargets order, without duplicates. Errors wrap projections.ErrUnknownProjection or
// projections.ErrNotRebuildable.
func LookupRebuildTargets(names []string) ([]RebuildTarget, error) {
	if len(names) == 0 {
		return slices.Clone(RebuildTargets), nil
	}
	want := map[string]bool{}
	for _, name := range names {
		n := strings.ToLower(strings.TrimSpace(name))
		if n == "outbox" {
			return nil, fmt.Errorf("%w: the outbox is not a read model; it replays the log on its own (delete readmodels.db with the server stopped), and its delivery records in the log keep it from sending any mail again", projections.ErrNotRebuildable)
		}
		i := slices.IndexFunc(RebuildTargets, func(t RebuildTarget) bool { return n == t.Name || n == t.Checkpoint })
		if i < 0 {
			return nil, fmt.Errorf("%w %q: want one of %s", projections.ErrUnknownProjection, name, strings.Join(RebuildTargetNames(), ", "))
		}
		want[RebuildTargets[i].Name] = true
	}
	var out []RebuildTarget
	for _, t := range RebuildTargets {
		if want[t.Name] {
			out = append(out, t)
		}
	}
	return out, nil
}

// RebuildTargetNames lists the names LookupRebuildTargets accepts.
func RebuildTargetNames() []string {
	names := make([]string, len(RebuildTargets))
	for i, t := range RebuildTargets {
		names[i] = t.Name
	}
	return names
}

// RebuildFiles groups targets by file, files in the order they first appear.
func RebuildFiles(targets []RebuildTarget) [][]RebuildTarget {
	var groups [][]RebuildTarget
	for _, t := range targets {
		i := slices.IndexFunc(groups, func(g []RebuildTarget) bool { return g[0].File == t.File })
		if i < 0 {
			groups = append(groups, []RebuildTarget{t})
			continue
		}
		groups[i] = append(groups[i], t)
	}
	return groups
}

// rebuilds runs the online rebuilds a server is asked for, one at a time, and remembers
// the last few so an operator (or accountd rebuild) can follow one to its end.
type rebuilds struct {
	s    *Server
	mu   sync.Mutex
	jobs []*rebuildJob // oldest first, at most keepRebuilds
	busy bool
	// finished counts rebuilds by outcome and paused observes how long each file's
	// rebuilt projections stopped following the log (nil without metrics).
	finished *prometheus.CounterVec
	paused   prometheus.Observer
}

// registerMetrics exposes the online rebuilds in reg.
func (r *rebuilds) registerMetrics(reg prometheus.Registerer) error {
	r.finished = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "accountd_rebuilds_total",
		Help: "Online rebuilds of read models, by result (succeeded, failed).",
	}, []string{"result"})
	pause := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "accountd_rebuild_pause_seconds",
		Help:    "How long the rebuilt projections of one read-model file stopped following the log for the swap.",
		Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	})
	r.paused = pause
	for _, c := range []prometheus.Collector{r.finished, pause} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// keepRebuilds bounds the finished rebuilds the server remembers.
const keepRebuilds = 20

type rebuildJob struct {
	mu   sync.Mutex
	view api.RebuildJob
}

func (j *rebuildJob) snapshot() api.RebuildJob {
	j.mu.Lock()
	defer j.mu.Unlock()
	v := j.view
	v.Projections = slices.Clone(v.Projections)
	v.Results = slices.Clone(v.Results)
	return v
}

func (j *rebuildJob) update(f func(v *api.RebuildJob)) {
	j.mu.Lock()
	defer j.mu.Unlock()
	f(&j.view)
}

// Start begins rebuilding the requested projections (all when none) in the background.
func (r *rebuilds) Start(req api.RebuildRequest) (api.RebuildJob, error) {
	targets, err := LookupRebuildTargets(req.Projections)
	if err != nil {
		return api.RebuildJob{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.busy {
		return api.RebuildJob{}, projections.ErrRebuildRunning
	}
	ctx, ok := r.s.backgroundContext()
	if !ok || ctx.Err() != nil {
		return api.RebuildJob{}, errors.New("the server is not running its background work (not started, or shutting down)")
	}
	job := &rebuildJob{view: api.RebuildJob{ID: uuid.NewString(), State: api.RebuildRunning, StartedAt: time.Now().UTC(), MaxRate: req.MaxRate, Results: []api.RebuildResult{}}}
	for _, t := range targets {
		job.view.Projections = append(job.view.Projections, t.Name)
	}
	r.busy = true
	r.jobs = append(r.jobs, job)
	if len(r.jobs) > keepRebuilds {
		r.jobs = slices.Delete(r.jobs, 0, len(r.jobs)-keepRebuilds)
	}
	r.s.workers.Add(1)
	go func() {
		defer r.s.workers.Done()
		err := r.run(ctx, job, targets, req.MaxRate)
		job.update(func(v *api.RebuildJob) {
			v.FinishedAt = time.Now().UTC()
			v.State = api.RebuildSucceeded
			if err != nil {
				v.State, v.Error = api.RebuildFailed, err.Error()
			}
		})
		if err != nil {
			r.s.log.Error("online rebuild failed; the read models are as they were", "rebuild", job.view.ID, "error", err)
		}
		if r.finished != nil {
			result := api.RebuildSucceeded
			if err != nil {
				result = api.RebuildFailed
			}
			r.finished.WithLabelValues(result).Inc()
		}
		r.mu.Lock()
		r.busy = false
		r.mu.Unlock()
	}()
	return job.snapshot(), nil
}

// run rebuilds each file's projections through the runner that feeds that file.
func (r *rebuilds) run(ctx context.Context, job *rebuildJob, targets []RebuildTarget, maxRate int) error {
	for _, group := range RebuildFiles(targets) {
		file := group[0].File
		runner := r.s.runner
		if file == "security.db" {
			runner = r.s.securityRunner
		}
		var fresh []projections.Projection
		for _, t := range group {
			p, err := r.s.freshProjection(t.Name)
			if err != nil {
				return err
			}
			fresh = append(fresh, p)
		}
		path := filepath.Join(r.s.cfg.DataDir, file)
		res, err := runner.Rebuild(ctx, path+projections.ScratchSuffix, projections.RebuildOptions{MaxRate: maxRate, Progress: func(p projections.RebuildProgress) {
			job.update(func(v *api.RebuildJob) { v.File, v.Phase, v.Done, v.Total = file, string(p.Phase), p.Done, p.Total })
		}}, fresh...)
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		if r.paused != nil {
			r.paused.Observe(res.Paused.Seconds())
		}
		job.update(func(v *api.RebuildJob) {
			v.Results = append(v.Results, api.RebuildResult{File: file, Projections: res.Projections, Head: res.Head,
				ElapsedMS: res.Elapsed.Milliseconds(), PausedMS: res.Paused.Milliseconds()})
		})
	}
	return nil
}

// Get returns a rebuild the server remembers.
func (r *rebuilds) Get(id string) (api.RebuildJob, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, j := range r.jobs {
		if j.view.ID == id {
			return j.snapshot(), true
		}
	}
	return api.RebuildJob{}, false
}

// List returns the rebuilds the server remembers, newest first.
func (r *rebuilds) List() []api.RebuildJob {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]api.RebuildJob, 0, len(r.jobs))
	for i := len(r.jobs) - 1; i >= 0; i-- {
		out = append(out, r.jobs[i].snapshot())
	}
	return out
}

// freshProjection makes a new, empty instance of a rebuild target, wired as New wires the
// live one.
func (s *Server) freshProjection(name string) (projections.Projection, error) {
	switch name {
	case "status":
		return projections.NewStatus(), nil
	case "compliance":
		return compliance.New(), nil
	case "detectors":
		return s.newDetectors()
	case "timeline":
		return timeline.New(), nil
	}
	return nil, fmt.Errorf("%w %q", projections.ErrUnknownProjection, name)
}
