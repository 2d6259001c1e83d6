// Package sqlitedb opens the SQLite databases that hold each service's read
// model, with the settings every service needs.
package sqlitedb

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/jmoiron/sqlx"
	_ "github.com/mattn/go-sqlite3" // registers the sqlite3 driver
)

// Open opens (creating if needed) the database at path in WAL mode with a
// busy timeout, and applies the schema statements, which must be idempotent
// (CREATE ... IF NOT EXISTS).
func Open(ctx context.Context, path string, schema ...string) (*sqlx.DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create database folder: %w", err)
	}
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	// NORMAL is durable in WAL mode except for the last commits on power
	// loss; every service can rebuild those from the stream it records.
	q.Set("_synchronous", "NORMAL")
	q.Set("_busy_timeout", "5000")
	q.Set("_foreign_keys", "on")
	q.Set("_txlock", "immediate")
	db, err := sqlx.ConnectContext(ctx, "sqlite3", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	// One writer at a time is SQLite's model; a single connection also
	// keeps transactions strictly serial without lock retries.
	db.SetMaxOpenConns(1)
	for _, stmt := range schema {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			db.Close()
			return nil, fmt.Errorf("apply schema to %s: %w", path, err)
		}
	}
	return db, nil
}

// InTx runs fn in a transaction, committing when it returns nil.
func InTx(ctx context.Context, db *sqlx.DB, fn func(tx *sqlx.Tx) error) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// AddColumn adds a column to a table of a database created by an older
// version, where CREATE TABLE IF NOT EXISTS left the old columns; a column
// already there is left alone.
func AddColumn(ctx context.Context, db *sqlx.DB, table, column, decl string) error {
	var n int
	if err := db.GetContext(ctx, &n, `SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?`, table, column); err != nil {
		return fmt.Errorf("inspect %s: %w", table, err)
	}
	if n > 0 {
		return nil
	}
	if _, err := db.ExecContext(ctx, `ALTER TABLE `+table+` ADD COLUMN `+column+` `+decl); err != nil {
		return fmt.Errorf("add %s.%s: %w", table, column, err)
	}
	return nil
}
