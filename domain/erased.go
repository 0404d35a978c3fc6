package domain

// Erased stands, in what readers see, for a personal value whose key was destroyed
// (crypto-shredding, eventstore/personal): the event is still in the log, its value is not
// readable by anyone any more.
const Erased = "[erased]"

// IsErased reports whether s is the stand-in of an erased personal value. Readers treat it
// as absent: many erased values are not one value.
func IsErased(s string) bool { return s == Erased }
