package eventstore

// GroupCommit describes one group commit: the appends a backend's writer decided together
// in a single transaction.
type GroupCommit struct {
	// Appends is how many Append calls the transaction decided, at least one: those it
	// wrote, those it recognised as retries of stored appends, and those it refused
	// (ErrWrongExpectedVersion, ErrDuplicateEventID) all count, since each took its place
	// in the batch. Appends whose context ended before the writer got to them do not.
	Appends int
	// Events is how many events the transaction added to the log: the events of the
	// appends it wrote, nothing for retries and refusals. Over all reports it sums to the
	// growth of the log through this store.
	Events int
}

// GroupCommitReporter is implemented by a store whose single writer commits queued
// appends in batches (SQLite, PostgreSQL), so that Instrument can export the batch sizes
// without the backend knowing about Prometheus.
type GroupCommitReporter interface {
	// ReportGroupCommits makes the store call report once for every batch it decides:
	// after the transaction commits (with SQLite's Full, before the fsync that makes it
	// durable; with PostgreSQL, after the synchronous commit of the durable head that
	// makes it so; PostgreSQL rolls back a batch that wrote nothing, reported with Events
	// 0) and before the batch's appends are answered, so a caller whose Append returned
	// finds its batch counted. A batch that fails as a whole (a failed BEGIN, insert,
	// COMMIT or flush, a store broken by a failed fsync) is not reported: its appends fail
	// with the error, which the append latency shows.
	//
	// It may be called at any time, also while appends are under way; a later call
	// replaces the earlier callback, and nil stops the reports. report runs on the
	// writer goroutine, between two group commits, so it must be cheap and must not
	// block or call back into the store.
	ReportGroupCommits(report func(GroupCommit))
}
