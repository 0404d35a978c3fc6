package eventstoretest

import (
	"errors"
	"strings"
	"testing"

	"accountd/eventstore"

	"github.com/google/uuid"
)

var invalidCases = []testCase{
	{"RefusedAndNothingWritten", func(t *testing.T, s eventstore.Store) {
		dup := newEvent("Deposited")
		cases := []struct {
			name   string
			stream string
			events []eventstore.EventData
		}{
			{"EmptyStream", "", []eventstore.EventData{newEvent("Opened")}},
			{"StreamTooLong", strings.Repeat("x", eventstore.MaxStreamNameLength+1), []eventstore.EventData{newEvent("Opened")}},
			{"StreamNotUTF8", "acct-\xff", []eventstore.EventData{newEvent("Opened")}},
			{"NoEvents", "acct", nil},
			{"NilID", "acct", []eventstore.EventData{newEvent("Opened"), {ID: uuid.Nil, Type: "Deposited"}}},
			{"EmptyType", "acct", []eventstore.EventData{newEvent("Opened"), {ID: uuid.New()}}},
			{"DuplicateIDInBatch", "acct", []eventstore.EventData{dup, newEvent("Opened"), dup}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				for _, expected := range []eventstore.ExpectedRevision{eventstore.Any, eventstore.NoStream} {
					_, err := s.Append(t.Context(), c.stream, expected, c.events...)
					if !errors.Is(err, eventstore.ErrInvalidEvent) {
						t.Fatalf("expecting %s: got %v, want ErrInvalidEvent", expected, err)
					}
				}
				assertHead(t, s, 0)
			})
		}
	}},
}
