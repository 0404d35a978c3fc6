package postgres

import (
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
)

// Event IDs cross the wire as pgtype.UUID. pgx encodes a uuid.UUID through its
// driver.Valuer, as text that it then parses back into the binary form, and decodes one
// through its sql.Scanner the same way round: 134 µs for the 31 IDs of a batch's array
// against 3 µs (BenchmarkEncodeEventIDs), spent by the writer while it holds the append
// lock.

// eventIDs is the array of event IDs a statement takes.
type eventIDs = pgtype.FlatArray[pgtype.UUID]

func wireID(id uuid.UUID) pgtype.UUID { return pgtype.UUID{Bytes: id, Valid: true} }
