package serve

import (
	"os"
	"runtime"
	"sync"
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
