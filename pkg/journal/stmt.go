package journal

import (
	"context"
	"database/sql"
	"sync"
)

// maxPrepared bounds the statements a pool keeps prepared. The journal's
// queries are constants or a few variants of one (a filter's IN list), so
// the bound is never met in practice; past it queries are prepared afresh
// each time, as before.
const maxPrepared = 128

// stmtCache keeps the statements a pool runs prepared, so SQLite parses and
// plans each one once per connection rather than on every call: parsing
// was an eighth of a durable append's CPU time.
//
// A statement cannot be prepared inside a transaction on the writer pool:
// the pool's one connection belongs to the transaction, and DB.Prepare would
// wait for it forever. So a statement met for the first time runs
// unprepared and is noted, and prepare prepares the noted ones after the
// transaction, on the pool. Tx.StmtContext then uses the prepared statement
// on the transaction's connection (and prepares it there if the connection
// is a new one).
type stmtCache struct {
	db     *sql.DB
	mu     sync.Mutex
	stmts  map[string]*sql.Stmt
	wanted map[string]bool
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, stmts: map[string]*sql.Stmt{}, wanted: map[string]bool{}}
}

// get returns the prepared statement of q, or nil, noting q to prepare.
func (c *stmtCache) get(q string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.stmts[q]; s != nil {
		return s
	}
	if len(c.stmts)+len(c.wanted) < maxPrepared {
		c.wanted[q] = true
	}
	return nil
}

// prepare prepares the statements noted since the last call. It must not
// be called inside a transaction of the pool. A statement that fails to
// prepare is left unprepared: it ran unprepared already, so the error is
// its caller's to see next time.
func (c *stmtCache) prepare(ctx context.Context) {
	c.mu.Lock()
	if len(c.wanted) == 0 {
		c.mu.Unlock()
		return
	}
	var qs []string
	for q := range c.wanted {
		qs = append(qs, q)
	}
	clear(c.wanted)
	c.mu.Unlock()
	for _, q := range qs {
		s, err := c.db.PrepareContext(ctx, q)
		if err != nil {
			continue
		}
		c.mu.Lock()
		if c.stmts[q] == nil && len(c.stmts) < maxPrepared {
			c.stmts[q], s = s, nil
		}
		c.mu.Unlock()
		if s != nil {
			s.Close()
		}
	}
}

// close closes the prepared statements.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, s := range c.stmts {
		s.Close()
		delete(c.stmts, q)
	}
	clear(c.wanted)
}

// ExecContext runs q in the transaction, prepared when it has been before.
func (t *tx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if s := t.prepared(q); s != nil {
		return t.Tx.StmtContext(ctx, s).ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, q, args...)
}

// QueryContext runs q in the transaction, prepared when it has been before.
func (t *tx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if s := t.prepared(q); s != nil {
		return t.Tx.StmtContext(ctx, s).QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, q, args...)
}

// QueryRowContext runs q in the transaction, prepared when it has been
// before.
func (t *tx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if s := t.prepared(q); s != nil {
		return t.Tx.StmtContext(ctx, s).QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, q, args...)
}

func (t *tx) prepared(q string) *sql.Stmt {
	if t.stmts == nil {
		return nil
	}
	return t.stmts.get(q)
}
