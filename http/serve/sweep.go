package serve

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"accountd/commands"
	"accountd/domain"
	"accountd/eventstore"
	"accountd/eventstore/eventlog"
	"accountd/eventstore/sqlite"
	"accountd/projections/compliance"
)

// evidenceParts are the server's PCI DSS evidence pieces: the policy history (the service
// reads the policy in force from it) and the compliance read model.
type evidenceParts struct {
	policies   *eventlog.PolicyHistory
	projection *compliance.Projection
}

// startPolicy records the configured policy in the log when it differs from the last one
// recorded, so the log states what was in force from this start on, and returns the history
// the service reads its policy from.
func (s *Server) startPolicy(ctx context.Context, configured domain.Policy) (*eventlog.PolicyHistory, error) {
	h, err := eventlog.LoadPolicyHistory(ctx, s.store)
	if err != nil {
		return nil, err
	}
	if h.Recorded() && reflect.DeepEqual(h.Current(), configured) {
		return h, nil
	}
	actor := domain.Actor{Kind: domain.ActorSystem, Note: "configuration at server start"}
	if _, err := commands.ChangePolicy(ctx, s.store, s.cfg.Clock, configured, actor); err != nil {
		return nil, fmt.Errorf("record the configured policy: %w", err)
	}
	if err := h.Refresh(ctx, s.store); err != nil {
		return nil, err
	}
	s.log.Info("recorded the configured policy in the log", "policy_versions", len(h.Versions()))
	return h, nil
}

// Policies is the policy history read from the log.
func (s *Server) Policies() *eventlog.PolicyHistory { return s.evidence.policies }

// SweepInactive brings the compliance read model up to the log's head (catching up itself
// when the server was not started, as in the CLI) and runs one inactivity sweep (PCI 8.2.6).
func (s *Server) SweepInactive(ctx context.Context) (compliance.SweepResult, error) {
	head, err := s.store.HeadPosition(ctx)
	if err != nil {
		return compliance.SweepResult{}, err
	}
	if s.stop != nil {
		// Started: the runner owns the read models, and a second writer would apply
		// batches twice to in-memory projections. Wait for it instead.
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err = s.runner.WaitFor(wctx, compliance.Name, head)
		cancel()
	} else {
		err = s.runner.CatchUp(ctx)
	}
	if err != nil {
		return compliance.SweepResult{}, err
	}
	return compliance.SweepInactive(ctx, s.readDB, s.service)
}

// sweeper runs the inactivity sweep once per hour of the server's clock.
type sweeper struct{ s *Server }

func (w sweeper) Run(ctx context.Context) error {
	var last time.Time
	t := time.NewTicker(w.s.cfg.SweepPoll)
	defer t.Stop()
	for {
		hour := w.s.cfg.Clock().UTC().Truncate(time.Hour)
		if !hour.Equal(last) {
			// Wait for the read model rather than catching up here: the runner owns it.
			head, err := w.s.store.HeadPosition(ctx)
			if err == nil {
				wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				err = w.s.runner.WaitFor(wctx, compliance.Name, head)
				cancel()
			}
			if err == nil {
				// Pick up policy changes another process recorded, so the sweep and the
				// service judge by the policy in the log.
				err = w.s.evidence.policies.Refresh(ctx, w.s.store)
			}
			if err == nil {
				var res compliance.SweepResult
				res, err = compliance.SweepInactive(ctx, w.s.readDB, w.s.service)
				if err == nil {
					if res.Disabled > 0 {
						w.s.log.Info("inactivity sweep", "examined", res.Examined, "disabled", res.Disabled)
					}
					// Retention of personal data rides on the same elected hourly sweep:
					// one node destroys the month keys, every node's key cache sees it
					// within its TTL.
					var floor string
					var destroyed int
					if floor, destroyed, err = w.s.ApplyPersonalRetention(ctx); err == nil && destroyed > 0 {
						w.s.log.Info("personal data retention: destroyed the keys of past months", "before", floor, "destroyed", destroyed)
					}
				}
				if err == nil {
					var rep sqlite.SealReport
					if rep, err = w.s.archiveBeyondHotWindow(ctx); err == nil && rep.Events > 0 {
						w.s.log.Info("archived the events beyond the hot window", "events", rep.Events, "segments", len(rep.Segments), "through", rep.Through)
					}
				}
				if err == nil {
					last = hour
					w.s.sweptHour.Store(hour.Unix())
				}
			}
			if err != nil && ctx.Err() == nil {
				w.s.log.Error("inactivity sweep failed; retrying at the next poll", "error", err)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// OpenStore opens the event log a Config selects (Store, StoreURL, DataDir, Sync), for the
// offline tools (verify, evidence) that take serve's store flags.
func OpenStore(ctx context.Context, cfg Config) (eventstore.Store, error) {
	return openStore(ctx, cfg.withDefaults())
}
