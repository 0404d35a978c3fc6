package domain

// Erased stands in for a personal value that can no longer be read: the key it was sealed
// under was destroyed (an erasure, or the end of a retention period). Readers above the
// store see it where the value was; every reader treats it as absent, never as a value
// (many erased addresses are not one address).
const Erased = "[erased]"

// IsErased reports whether a personal value was erased.
func IsErased(s string) bool { return s == Erased }
