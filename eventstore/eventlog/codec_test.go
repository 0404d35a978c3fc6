package eventlog_test

import (
	"testing"

	"github.com/google/uuid"

	"accountd/eventstore/eventlog"
)

func TestEventIDsAreDeterministicAndTimeOrderedForV7Commands(t *testing.T) {
	a, b := eventlog.NewCommandID(), eventlog.NewCommandID()
	ca := uuid.MustParse(a)
	ea, eb := eventlog.EventID(a, "s", 0), eventlog.EventID(b, "s", 0)
	checks := []struct {
		name string
		ok   bool
	}{
		{"a retried command gets the same event IDs", eventlog.EventID(a, "s", 0) == eventlog.EventID(a, "s", 0)},
		{"the events of one command get distinct IDs", eventlog.EventID(a, "s", 0) != eventlog.EventID(a, "s", 1)},
		{"one command on two streams gets distinct IDs", eventlog.EventID(a, "s", 0) != eventlog.EventID(a+"/email", "s", 0)},
		{"the event ID carries the command's time", ea.Version() == 7 && string(ea[:6]) == string(ca[:6])},
		{"a later command's events sort after", string(ea[:6]) <= string(eb[:6])},
		{"a non-UUIDv7 command ID keeps a name-based ID", eventlog.EventID("idem:logins:key-1", "s", 0).Version() == 5},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: command IDs %s, %s; event IDs %s, %s", c.name, a, b, ea, eb)
		}
	}
}
