// Package sqlite is accountd's embedded default event store: one SQLite file in WAL mode,
// written by a single goroutine that group-commits concurrent appends, and read through a
// separate pool of read-only connections.
//
// # Durability
//
// With WithSynchronous(Full), the default, Append returns only after the WAL holding its
// commit has been fsynced: an acknowledged event survives a power loss. The fsync runs on
// its own goroutine, overlapping the next group commit, and reads stop at the last durable
// position, so no reader ever acts on an event that a power loss could take back (see
// durability.go). Normal skips that fsync (SQLite syncs at checkpoints instead); the file
// stays consistent, but the last acknowledged appends can be lost on power loss (not on a
// process crash).
//
// # Group commit
//
// Every Append becomes a request on a channel. The writer takes one request, drains
// whatever else is already queued (up to WithMaxBatch requests), and applies them all in
// one transaction, so one commit, and one fsync, serves many appends. Each request is
// decided on its own: a conflict or duplicate fails that request only, the others still
// commit. Nobody is answered before the commit is durable, and if the commit fails
// everybody in the batch gets the error.
//
// # Single writer
//
// Positions and hashes are assigned by the writer inside the transaction, in commit order,
// from a head it keeps in memory. Two processes (or two Stores in one process) writing the
// same file would each assign the same positions from their own head, so Open takes an
// exclusive flock on "<path>.lock" and fails with ErrLocked if someone holds it.
//
// # Files
//
// Besides the database file, SQLite keeps "<path>-wal" and "<path>-shm" next to it, and
// Open adds "<path>.lock". Back up with the SQLite backup API or a copy taken while the
// store is closed; copying the database file alone while it is open loses the WAL.
//
// # Archive
//
// Store.Seal moves the oldest events into signed archive segments
// (accountd/eventstore/archive) in the archive directory (WithArchiveDir; default
// "archive" beside the file), and every read reaches into them where the table no longer
// holds a position (archive.go). One limit: the ID of an archived event is no longer
// looked up, so a retry of an append made before its events were archived, or a reused
// ID, is not recognised (ExactIdempotency holds within the live log). Back the archive
// directory up with the file: the file records every segment's SHA-256, and reads of an
// archived position fail without its segment.
package sqlite
