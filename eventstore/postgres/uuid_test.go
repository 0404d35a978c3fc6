package postgres

import (
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
)

// BenchmarkEncodeEventIDs encodes a batch's array of event IDs as the INSERT sends it,
// against the uuid.UUID slice it replaced: go test -run '^$' -bench EncodeEventIDs.
func BenchmarkEncodeEventIDs(b *testing.B) {
	ids := make([]uuid.UUID, 31)
	wire := make(eventIDs, len(ids))
	for i := range ids {
		ids[i] = uuid.New()
		wire[i] = wireID(ids[i])
	}
	for name, v := range map[string]any{"uuid.UUID": ids, "pgtype.UUID": wire} {
		b.Run(name, func(b *testing.B) {
			m := pgtype.NewMap()
			buf := make([]byte, 0, 4096)
			for b.Loop() {
				if _, err := m.Encode(pgtype.UUIDArrayOID, pgtype.BinaryFormatCode, v, buf[:0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
