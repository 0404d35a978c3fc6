package postgres

import (
	"bytes"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// tip is the end of the log as the writer reads it under the append lock, in one statement
// (q.tip): one executor run instead of three for the head, the frontier and this node's
// last commit, which a contended batch reads every turn.
type tip struct {
	head uint64
	hash [32]byte // the chain hash at head
	// edge holds tree columns by position: every row of the frontier of a tree of size head.
	edge map[int64][]byte
	// mine: the event at this node's last position is the one it committed there. The
	// stream heads it caches from its commits hold only while it is: a crash loses what
	// PostgreSQL had not flushed.
	mine bool
}

// readTip reads the rows of q.tip, queried with this node's last position.
func (s *Store) readTip(rows pgx.Rows) (tip, error) {
	t := tip{edge: map[int64][]byte{}}
	var headHash, lastHash []byte
	lastFound := false
	for rows.Next() {
		var pos int64
		var hash, tree []byte
		if err := rows.Scan(&pos, &hash, &tree); err != nil {
			rows.Close()
			return tip{}, fmt.Errorf("read the log's head: %w", err)
		}
		t.edge[pos] = tree
		if uint64(pos) >= t.head {
			t.head, headHash = uint64(pos), hash
		}
		if uint64(pos) == s.last {
			lastHash, lastFound = hash, true
		}
	}
	if err := rows.Err(); err != nil {
		return tip{}, fmt.Errorf("read the log's head: %w", err)
	}
	if t.head > 0 && copy(t.hash[:], headHash) != len(t.hash) {
		return tip{}, fmt.Errorf("log head at position %d has a %d-byte hash", t.head, len(headHash))
	}
	t.mine = s.last == 0 || lastFound && bytes.Equal(lastHash, s.lastHash[:])
	return t, nil
}
