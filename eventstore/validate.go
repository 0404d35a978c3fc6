package eventstore

import (
	"fmt"
	"unicode/utf8"

	"github.com/google/uuid"
)

// MaxStreamNameLength bounds stream names; longer names are refused rather than truncated.
const MaxStreamNameLength = 512

// ValidateAppend checks an append before any backend touches storage, so every backend
// refuses the same malformed input with the same error.
func ValidateAppend(stream string, events []EventData) error {
	if stream == "" {
		return fmt.Errorf("%w: empty stream name", ErrInvalidEvent)
	}
	if len(stream) > MaxStreamNameLength || !utf8.ValidString(stream) {
		return fmt.Errorf("%w: stream name must be valid UTF-8 of at most %d bytes", ErrInvalidEvent, MaxStreamNameLength)
	}
	if len(events) == 0 {
		return fmt.Errorf("%w: append to %q carries no event", ErrInvalidEvent, stream)
	}
	seen := make(map[uuid.UUID]struct{}, len(events))
	for i, e := range events {
		if e.ID == uuid.Nil {
			return fmt.Errorf("%w: event %d of append to %q has no ID", ErrInvalidEvent, i, stream)
		}
		if e.Type == "" || !utf8.ValidString(e.Type) {
			return fmt.Errorf("%w: event %d of append to %q has no valid type", ErrInvalidEvent, i, stream)
		}
		if _, dup := seen[e.ID]; dup {
			return fmt.Errorf("%w: event ID %s appears twice in one append", ErrInvalidEvent, e.ID)
		}
		seen[e.ID] = struct{}{}
	}
	return nil
}
