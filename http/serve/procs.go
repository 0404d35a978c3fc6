package serve

import (
	"errors"
	"os"
	"runtime"
	"sync"

	"accountd/internal/cpusched"
)

// spareProc runs the process with one P more than the cores the runtime found. A goroutine
// in a system call or a cgo call keeps its P until the runtime's monitor takes it back,
// and the monitor, finding nothing to take for a while, backs off to looking every 10 ms.
// The server blocks that way all the time: the syncer's fdatasync, the checkpointer's
// PASSIVE checkpoint (two fsyncs inside SQLite), the writer's COMMIT, the projections'
// commits. With one P per core, each such block left a core idle while sign-ins waited to
// hash: a runtime trace of the login benchmark on two cores found Ps held by blocked
// goroutines, with others runnable, for 8% of the time. The spare P runs them on that core
// instead. The hashes still run one per core (credentials.Hasher's slots), so the extra P
// adds no working set that evicts another from the caches.
//
// An operator who set GOMAXPROCS has chosen: it is left as it is.
var spareProc = sync.OnceFunc(func() {
	if os.Getenv("GOMAXPROCS") != "" {
		return
	}
	runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + 1)
})

// CPU scheduling policies of Config.CPUScheduling.
const (
	CPUBatch  = "batch"
	CPUNormal = "normal"
)

// scheduleCPU puts the process under SCHED_BATCH, with a 10 ms slice, unless the
// configuration says normal. The spare P above is a thread more than cores, so something
// always waits for a core; under the default policy each wake-up of that something
// preempted a hash, and the hashes paid for it (see internal/cpusched and BENCHMARKS.md,
// issue 16). A system without the policy, or a process its operator started under another
// one, is left as it is.
func (s *Server) scheduleCPU() {
	if s.cfg.CPUScheduling == CPUNormal {
		return
	}
	moved, err := cpusched.Batch()
	switch {
	case errors.Is(err, cpusched.ErrUnsupported):
		s.log.Debug("cpu scheduling: SCHED_BATCH is not available here; left as started")
	case err != nil:
		s.log.Warn("cpu scheduling: could not move to SCHED_BATCH; left as started", "err", err)
	case moved:
		s.log.Debug("cpu scheduling: SCHED_BATCH")
	default:
		s.log.Info("cpu scheduling: the process runs under a policy its operator chose; left as it is")
	}
}
