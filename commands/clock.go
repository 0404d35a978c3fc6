// Package commands is the write side: it loads an aggregate's stream, folds it, lets the
// domain decide, and appends the decision at the exact revision it was made on, retrying a
// bounded number of times when another writer got there first.
package commands

import "time"

// Clock is the injected source of "now"; time rules never read the machine's clock directly.
type Clock func() time.Time
