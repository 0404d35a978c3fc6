package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"

	"github.com/mattn/go-sqlite3"
)

// The writer talks to the driver directly rather than through database/sql: it owns its
// connection for life, so the pool, the per-call connection locking and the argument
// conversion of database/sql are pure overhead on the hot path.

type rawConn struct {
	conn *sqlite3.SQLiteConn
}

func openRaw(dsn string) (*rawConn, error) {
	c, err := (&sqlite3.SQLiteDriver{}).Open(dsn)
	if err != nil {
		return nil, err
	}
	conn, ok := c.(*sqlite3.SQLiteConn)
	if !ok {
		_ = c.Close()
		return nil, fmt.Errorf("unexpected driver connection %T", c)
	}
	return &rawConn{conn: conn}, nil
}

// background is the writer's context: a statement inside a group commit must not be
// interrupted because one caller gave up, and a context without Done also spares the
// driver a watcher goroutine per statement.
var background = context.Background()

func (c *rawConn) exec(query string) error {
	_, err := c.conn.ExecContext(background, query, nil)
	return err
}

func (c *rawConn) prepare(query string) (*rawStmt, error) {
	s, err := c.conn.PrepareContext(background, query)
	if err != nil {
		return nil, fmt.Errorf("prepare %q: %w", query, err)
	}
	return &rawStmt{
		stmt:  s,
		exec:  s.(driver.StmtExecContext),
		query: s.(driver.StmtQueryContext),
		args:  make([]driver.NamedValue, s.NumInput()),
	}, nil
}

func (c *rawConn) close() error { return c.conn.Close() }

// rawStmt is a prepared statement with a reusable argument slice; it is used by one
// goroutine only.
type rawStmt struct {
	stmt  driver.Stmt
	exec  driver.StmtExecContext
	query driver.StmtQueryContext
	args  []driver.NamedValue
}

func (s *rawStmt) bind(values []driver.Value) []driver.NamedValue {
	for i, v := range values {
		s.args[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return s.args[:len(values)]
}

func (s *rawStmt) run(values ...driver.Value) error {
	_, err := s.exec.ExecContext(background, s.bind(values))
	clear(s.args) // drop references to the caller's payloads
	return err
}

// queryRow scans the first row into dest and reports whether there was one.
func (s *rawStmt) queryRow(dest []driver.Value, values ...driver.Value) (bool, error) {
	rows, err := s.query.QueryContext(background, s.bind(values))
	clear(s.args)
	if err != nil {
		return false, err
	}
	err = rows.Next(dest)
	closeErr := rows.Close()
	if errors.Is(err, io.EOF) {
		return false, closeErr
	}
	if err != nil {
		return false, err
	}
	return true, closeErr
}

// queryRows calls each for every row until it returns false or the rows run out.
func (s *rawStmt) queryRows(dest []driver.Value, each func() bool, values ...driver.Value) error {
	rows, err := s.query.QueryContext(background, s.bind(values))
	clear(s.args)
	if err != nil {
		return err
	}
	for {
		if err := rows.Next(dest); err != nil {
			closeErr := rows.Close()
			if errors.Is(err, io.EOF) {
				return closeErr
			}
			return err
		}
		if !each() {
			return rows.Close()
		}
	}
}

func (s *rawStmt) close() error { return s.stmt.Close() }

func isConstraint(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.Code == sqlite3.ErrConstraint
}
