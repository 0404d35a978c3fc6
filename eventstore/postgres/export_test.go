package postgres

// AppendLockKey is the advisory-lock key of a schema's append lock, for tests that hold it
// to make a node wait.
func AppendLockKey(schema string) int64 { return lockKey("append", schema) }
