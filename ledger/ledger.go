// Package ledger is the send ledger: a table of the sends that reached a
// vendor, keyed by idempotency key. Activities look a send up before calling
// the vendor and record it right after, so an activity retried after its
// send succeeded (worker crash, lost completion, timeout) does not send again.
//
// PostgreSQL serves a fleet of workers (JOURNEYS_DATABASE_URL); a SQLite file
// serves one machine in dev and needs nothing set up.
//
// The window that remains: a worker that dies after the vendor accepted a
// message and before the ledger row is written will send it again on retry.
// That is the time of one local insert; vendors without idempotency keys
// (Twilio, SendGrid, Slack) leave no way to close it from our side.
package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"time"
	"unicode/utf8"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "modernc.org/sqlite"             // registers "sqlite"

	"github.com/journeyshq/journeys/messages"
)

// DefaultTable is the ledger's table name.
const DefaultTable = "journeys_sends"

// Ledger is a send ledger on a SQL database. It is safe for concurrent use,
// and by several processes on PostgreSQL.
type Ledger struct {
	db      *sql.DB
	table   string
	postgre bool
}

var tableRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// OpenSQLite opens (creating it if needed) a ledger in the SQLite file at path.
func OpenSQLite(ctx context.Context, path, table string) (*Ledger, error) {
	// WAL and a busy timeout: the worker's activities write concurrently.
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=synchronous(NORMAL)")
	if err != nil {
		return nil, fmt.Errorf("ledger: open %s: %w", path, err)
	}
	return open(ctx, db, table, false)
}

// OpenPostgres opens a ledger in the PostgreSQL database at url.
func OpenPostgres(ctx context.Context, url, table string) (*Ledger, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("ledger: open postgres: %w", err)
	}
	return open(ctx, db, table, true)
}

func open(ctx context.Context, db *sql.DB, table string, postgres bool) (*Ledger, error) {
	if table == "" {
		table = DefaultTable
	}
	if !tableRE.MatchString(table) {
		db.Close()
		return nil, fmt.Errorf("ledger: table name %q must be lower_snake_case", table)
	}
	l := &Ledger{db: db, table: table, postgre: postgres}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+table+` (
		idempotency_key TEXT PRIMARY KEY,
		channel         TEXT NOT NULL,
		receipt_id      TEXT NOT NULL,
		sent_at         TIMESTAMP NOT NULL
	)`)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("ledger: create table %s: %w", table, err)
	}
	return l, nil
}

// Close closes the database.
func (l *Ledger) Close() error { return l.db.Close() }

// Lookup returns the receipt of the send recorded under key, if any.
func (l *Ledger) Lookup(ctx context.Context, key string) (messages.Receipt, bool, error) {
	var id string
	err := l.db.QueryRowContext(ctx, `SELECT receipt_id FROM `+l.table+` WHERE idempotency_key = `+l.arg(1), key).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return messages.Receipt{}, false, nil
	}
	if err != nil {
		return messages.Receipt{}, false, fmt.Errorf("ledger: look up send: %w", err)
	}
	return messages.Receipt{ID: id}, true, nil
}

// Record records that the send under key reached the vendor. Recording a key
// twice keeps the first receipt.
func (l *Ledger) Record(ctx context.Context, key string, ch messages.Channel, r messages.Receipt) error {
	_, err := l.db.ExecContext(ctx,
		`INSERT INTO `+l.table+` (idempotency_key, channel, receipt_id, sent_at) VALUES (`+l.arg(1)+`, `+l.arg(2)+`, `+l.arg(3)+`, `+l.arg(4)+`)
		 ON CONFLICT (idempotency_key) DO NOTHING`,
		key, string(ch), r.ID, time.Now().UTC())
	if err != nil {
		return fmt.Errorf("ledger: record send: %w", err)
	}
	return nil
}

// arg is the n-th placeholder in the database's dialect.
func (l *Ledger) arg(n int) string {
	if l.postgre {
		return fmt.Sprintf("$%d", n)
	}
	return "?"
}

// DeleteKeyPrefix deletes every send whose idempotency key starts with
// prefix, such as a customer's "customer:<id>/", and returns how many rows
// it deleted. An empty prefix is refused: it would empty the ledger.
func (l *Ledger) DeleteKeyPrefix(ctx context.Context, prefix string) (int64, error) {
	if prefix == "" {
		return 0, errors.New("ledger: delete sends: empty key prefix")
	}
	// substr compares literally, where LIKE would take the prefix's _ and %
	// as wildcards; both SQLite and PostgreSQL have it.
	res, err := l.db.ExecContext(ctx,
		`DELETE FROM `+l.table+` WHERE substr(idempotency_key, 1, `+l.arg(1)+`) = `+l.arg(2),
		utf8.RuneCountInString(prefix), prefix)
	if err != nil {
		return 0, fmt.Errorf("ledger: delete sends: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("ledger: delete sends: count rows: %w", err)
	}
	return n, nil
}
