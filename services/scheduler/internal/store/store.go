// Package store is the scheduler's SQLite read model: rollouts with their
// plan and trace context, per-host and per-phase progress, the stream
// sequence applied from each input stream, and the outbox of messages
// committed but not yet acknowledged by JetStream. Everything one batch of
// inputs changes is written in one transaction (Commit), so after a crash
// the scheduler resumes from a consistent state.
package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/sqlitedb"
	"github.com/rollwave/rollwave/services/scheduler/internal/rollout"
)

var schema = []string{
	`CREATE TABLE IF NOT EXISTS rollouts (
		id TEXT PRIMARY KEY,
		environment TEXT NOT NULL,
		app TEXT NOT NULL,
		version TEXT NOT NULL,
		state TEXT NOT NULL,
		reason TEXT NOT NULL DEFAULT '',
		actor TEXT NOT NULL DEFAULT '',
		wait_reason TEXT NOT NULL DEFAULT '',
		admitted INTEGER NOT NULL DEFAULT 0,
		queue_order INTEGER NOT NULL,
		seq INTEGER NOT NULL DEFAULT 0,
		phase INTEGER NOT NULL DEFAULT 0,
		batch INTEGER NOT NULL DEFAULT 0,
		phase_count INTEGER NOT NULL DEFAULT 0,
		failed_base INTEGER NOT NULL DEFAULT 0,
		total INTEGER NOT NULL DEFAULT 0,
		succeeded INTEGER NOT NULL DEFAULT 0,
		failed INTEGER NOT NULL DEFAULT 0,
		running INTEGER NOT NULL DEFAULT 0,
		pending INTEGER NOT NULL DEFAULT 0,
		plan TEXT NOT NULL,
		traceparent TEXT NOT NULL DEFAULT '',
		requested_by TEXT NOT NULL DEFAULT '',
		created_at TEXT NOT NULL,
		updated_at TEXT NOT NULL
	)`,
	`CREATE INDEX IF NOT EXISTS rollouts_env_order ON rollouts (environment, queue_order)`,
	`CREATE INDEX IF NOT EXISTS rollouts_state_order ON rollouts (state, queue_order)`,
	`CREATE INDEX IF NOT EXISTS rollouts_order ON rollouts (queue_order)`,
	`CREATE INDEX IF NOT EXISTS rollouts_env_state_order ON rollouts (environment, state, queue_order)`,
	`CREATE TABLE IF NOT EXISTS hosts (
		rollout TEXT NOT NULL REFERENCES rollouts (id),
		pos INTEGER NOT NULL,
		host TEXT NOT NULL,
		phase INTEGER NOT NULL,
		batch INTEGER NOT NULL,
		status TEXT NOT NULL,
		attempt INTEGER NOT NULL DEFAULT 0,
		action_id TEXT NOT NULL DEFAULT '',
		error TEXT NOT NULL DEFAULT '',
		dispatched_at TEXT NOT NULL DEFAULT '',
		finished_at TEXT NOT NULL DEFAULT '',
		PRIMARY KEY (rollout, pos),
		UNIQUE (rollout, host)
	)`,
	`CREATE TABLE IF NOT EXISTS phases (
		rollout TEXT NOT NULL REFERENCES rollouts (id),
		idx INTEGER NOT NULL,
		state TEXT NOT NULL,
		started_at TEXT NOT NULL DEFAULT '',
		ended_at TEXT NOT NULL DEFAULT '',
		PRIMARY KEY (rollout, idx)
	)`,
	`CREATE TABLE IF NOT EXISTS cursors (
		stream TEXT PRIMARY KEY,
		seq INTEGER NOT NULL
	)`,
	`CREATE TABLE IF NOT EXISTS outbox (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		subject TEXT NOT NULL,
		msg_id TEXT NOT NULL,
		data BLOB NOT NULL,
		headers TEXT NOT NULL DEFAULT '{}'
	)`,
}

// Store is the scheduler's database.
type Store struct {
	db *sqlx.DB
	// Commit's statements, prepared once: preparing them per execution
	// cost more than executing them.
	insertRollout, updateRollout *sqlx.NamedStmt
	upsertHost, upsertPhase      *sqlx.Stmt
	insertOutbox, upsertCursor   *sqlx.Stmt
}

// Open opens (creating if needed) the database at path.
func Open(ctx context.Context, path string) (*Store, error) {
	db, err := sqlitedb.Open(ctx, path, append(slices.Clone(schema), holdsSchema...)...)
	if err != nil {
		return nil, err
	}
	s := &Store{db: db}
	for _, col := range []struct{ table, name, decl string }{
		{"rollouts", "deadline", "TEXT NOT NULL DEFAULT ''"},
		{"rollouts", "gate", "TEXT NOT NULL DEFAULT ''"},
		{"rollouts", "gate_passed", "TEXT NOT NULL DEFAULT ''"},
		// Step model: the end of a wait step, and how far a rollback is.
		{"rollouts", "wait_until", "TEXT NOT NULL DEFAULT ''"},
		{"rollouts", "rollback", "TEXT NOT NULL DEFAULT ''"},
		{"rollouts", "rollback_batch", "INTEGER NOT NULL DEFAULT 0"},
		{"hosts", "installed", "INTEGER NOT NULL DEFAULT 0"},
		{"hosts", "rollback", "TEXT NOT NULL DEFAULT ''"},
		// Analysis steps: the round in progress and its failures.
		{"rollouts", "analysis_round", "INTEGER NOT NULL DEFAULT 0"},
		{"rollouts", "analysis_failed", "INTEGER NOT NULL DEFAULT 0"},
		{"rollouts", "measure_seq", "INTEGER NOT NULL DEFAULT 0"},
		{"hosts", "measured", "INTEGER NOT NULL DEFAULT 0"},
		// The newest attempt whose result is in the rollout's history.
		{"hosts", "recorded", "INTEGER NOT NULL DEFAULT 0"},
		// Traffic steps: where traffic goes, and the switch's attempt.
		{"rollouts", "traffic", "TEXT NOT NULL DEFAULT ''"},
		{"rollouts", "traffic_attempt", "INTEGER NOT NULL DEFAULT 0"},
		// Runtime control: the steps' run order after a reorder (step
		// indexes, comma-separated; '' is plan order), and a guided-failure
		// pause.
		{"rollouts", "run_order", "TEXT NOT NULL DEFAULT ''"},
		{"rollouts", "guided", "INTEGER NOT NULL DEFAULT 0"},
		{"rollouts", "skipped_hosts", "INTEGER NOT NULL DEFAULT 0"},
		{"rollouts", "excluded_hosts", "INTEGER NOT NULL DEFAULT 0"},
		// A phase's failures against its own budget.
		{"phases", "failed", "INTEGER NOT NULL DEFAULT 0"},
	} {
		if err := sqlitedb.AddColumn(ctx, db, col.table, col.name, col.decl); err != nil {
			db.Close()
			return nil, err
		}
	}
	if err := s.prepare(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) prepare(ctx context.Context) error {
	var err error
	named := func(q string) *sqlx.NamedStmt {
		if err != nil {
			return nil
		}
		var st *sqlx.NamedStmt
		st, err = s.db.PrepareNamedContext(ctx, q)
		return st
	}
	plain := func(q string) *sqlx.Stmt {
		if err != nil {
			return nil
		}
		var st *sqlx.Stmt
		st, err = s.db.PreparexContext(ctx, q)
		return st
	}
	s.insertRollout = named(`INSERT INTO rollouts (id, environment, app, version, state, reason, actor,
			wait_reason, admitted, queue_order, seq, phase, batch, phase_count, failed_base, total, succeeded, failed,
			running, pending, plan, traceparent, requested_by, created_at, updated_at, deadline, gate, gate_passed,
			wait_until, rollback, rollback_batch, analysis_round, analysis_failed, measure_seq, traffic, traffic_attempt,
			run_order, guided, skipped_hosts, excluded_hosts)
			VALUES (:id, :environment, :app, :version, :state, :reason, :actor, :wait_reason, :admitted, :queue_order,
			:seq, :phase, :batch, :phase_count, :failed_base, :total, :succeeded, :failed, :running, :pending, :plan,
			:traceparent, :requested_by, :created_at, :updated_at, :deadline, :gate, :gate_passed,
			:wait_until, :rollback, :rollback_batch, :analysis_round, :analysis_failed, :measure_seq, :traffic, :traffic_attempt,
			:run_order, :guided, :skipped_hosts, :excluded_hosts)`)
	s.updateRollout = named(`UPDATE rollouts SET state = :state, reason = :reason, actor = :actor,
			wait_reason = :wait_reason, admitted = :admitted, seq = :seq, phase = :phase, batch = :batch,
			failed_base = :failed_base, total = :total, succeeded = :succeeded, failed = :failed, running = :running,
			pending = :pending, traceparent = :traceparent, updated_at = :updated_at, deadline = :deadline,
			gate = :gate, gate_passed = :gate_passed, wait_until = :wait_until, rollback = :rollback,
			rollback_batch = :rollback_batch, analysis_round = :analysis_round, analysis_failed = :analysis_failed,
			measure_seq = :measure_seq, traffic = :traffic, traffic_attempt = :traffic_attempt,
			run_order = :run_order, guided = :guided, skipped_hosts = :skipped_hosts,
			excluded_hosts = :excluded_hosts WHERE id = :id`)
	s.upsertHost = plain(`INSERT INTO hosts (rollout, pos, host, phase, batch, status, attempt,
			action_id, error, dispatched_at, finished_at, installed, rollback, measured, recorded) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (rollout, pos) DO UPDATE SET status = excluded.status, attempt = excluded.attempt,
			action_id = excluded.action_id, error = excluded.error, dispatched_at = excluded.dispatched_at,
			finished_at = excluded.finished_at, installed = excluded.installed, rollback = excluded.rollback,
			measured = excluded.measured, recorded = excluded.recorded`)
	s.upsertPhase = plain(`INSERT INTO phases (rollout, idx, state, started_at, ended_at, failed) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (rollout, idx) DO UPDATE SET state = excluded.state, started_at = excluded.started_at,
			ended_at = excluded.ended_at, failed = excluded.failed`)
	s.insertOutbox = plain(`INSERT INTO outbox (subject, msg_id, data, headers) VALUES (?, ?, ?, ?)`)
	s.upsertCursor = plain(`INSERT INTO cursors (stream, seq) VALUES (?, ?)
				ON CONFLICT (stream) DO UPDATE SET seq = excluded.seq`)
	if err != nil {
		return fmt.Errorf("prepare statements: %w", err)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Record is a rollout and the trace context of its planned event.
type Record struct {
	Rollout     rollout.Rollout
	Traceparent string
}

// Write is one rollout to save: all of it when New, else its row and the
// hosts and phases listed.
type Write struct {
	New    bool
	Record Record
	Hosts  []int
	Phases []int
}

// NewWrite returns the write that saves a rollout given its last saved
// version (nil for a new one): the rollout row, the hosts the rollout lists
// as Changed, and the phases that differ.
func NewWrite(saved *rollout.Rollout, rec Record) Write {
	w := Write{Record: rec}
	if saved == nil {
		w.New = true
		return w
	}
	r := rec.Rollout
	// Step lists the hosts it changed, so a commit costs the changed rows,
	// not a comparison of every host.
	if len(r.Changed) > 0 {
		seen := make(map[int]bool, len(r.Changed))
		for _, i := range r.Changed {
			if i >= 0 && i < len(r.Hosts) && !seen[i] {
				seen[i] = true
				w.Hosts = append(w.Hosts, i)
			}
		}
	}
	for i := range r.Phases {
		if i >= len(saved.Phases) || saved.Phases[i] != r.Phases[i] {
			w.Phases = append(w.Phases, i)
		}
	}
	return w
}

// OutboxRow is a message to publish. ID is set once it is stored.
type OutboxRow struct {
	ID      int64
	Subject string
	MsgID   string
	Data    []byte
	Header  map[string][]string
}

// Change is everything one batch of inputs changed.
type Change struct {
	Writes  []Write
	Outbox  []OutboxRow
	Cursors map[string]uint64
	// Holds are the calendar holds the batch set or ended.
	Holds []HoldChange
}

// Commit saves a change in one transaction and returns the outbox rows
// with their ids.
func (s *Store) Commit(ctx context.Context, c Change) ([]OutboxRow, error) {
	rows := slices.Clone(c.Outbox)
	err := sqlitedb.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		for _, w := range c.Writes {
			if err := s.writeRollout(ctx, tx, w); err != nil {
				return fmt.Errorf("save rollout %s: %w", w.Record.Rollout.ID(), err)
			}
		}
		for i := range rows {
			hdr, err := json.Marshal(rows[i].Header)
			if err != nil {
				return fmt.Errorf("encode headers of %s: %w", rows[i].MsgID, err)
			}
			res, err := tx.StmtxContext(ctx, s.insertOutbox).ExecContext(ctx, rows[i].Subject, rows[i].MsgID, rows[i].Data, string(hdr))
			if err != nil {
				return fmt.Errorf("queue %s: %w", rows[i].MsgID, err)
			}
			if rows[i].ID, err = res.LastInsertId(); err != nil {
				return fmt.Errorf("queue %s: %w", rows[i].MsgID, err)
			}
		}
		for stream, seq := range c.Cursors {
			if _, err := tx.StmtxContext(ctx, s.upsertCursor).ExecContext(ctx, stream, int64(seq)); err != nil {
				return fmt.Errorf("save cursor of %s: %w", stream, err)
			}
		}
		return writeHolds(ctx, tx, c.Holds)
	})
	if err != nil {
		return nil, err
	}
	return rows, nil
}

func (s *Store) writeRollout(ctx context.Context, tx *sqlx.Tx, w Write) error {
	r := w.Record.Rollout
	row := toRow(w.Record)
	if w.New {
		plan, err := json.Marshal(r.Plan)
		if err != nil {
			return fmt.Errorf("encode plan: %w", err)
		}
		row.Plan = string(plan)
		if _, err := tx.NamedStmtContext(ctx, s.insertRollout).ExecContext(ctx, row); err != nil {
			return err
		}
		w.Hosts = make([]int, len(r.Hosts))
		for i := range w.Hosts {
			w.Hosts[i] = i
		}
		w.Phases = make([]int, len(r.Phases))
		for i := range w.Phases {
			w.Phases[i] = i
		}
	} else {
		res, err := tx.NamedStmtContext(ctx, s.updateRollout).ExecContext(ctx, row)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return fmt.Errorf("update matched %d rows (%v)", n, err)
		}
	}
	if len(w.Hosts) > 0 {
		stmt := tx.StmtxContext(ctx, s.upsertHost)
		for _, i := range w.Hosts {
			h := r.Hosts[i]
			if _, err := stmt.ExecContext(ctx, r.ID(), i, h.Name, h.Phase, h.Batch, string(h.Status), h.Attempt,
				h.ActionID, h.Error, formatTime(h.DispatchedAt), formatTime(h.FinishedAt), h.Installed, string(h.Rollback), h.Measured, h.Recorded); err != nil {
				return fmt.Errorf("host %s: %w", h.Name, err)
			}
		}
	}
	for _, i := range w.Phases {
		p := r.Phases[i]
		if _, err := tx.StmtxContext(ctx, s.upsertPhase).ExecContext(ctx, r.ID(), i, string(p.State), formatTime(p.StartedAt), formatTime(p.EndedAt), p.Failed); err != nil {
			return fmt.Errorf("phase %d: %w", i, err)
		}
	}
	return nil
}

// rolloutRow is the rollouts table row.
type rolloutRow struct {
	ID          string `db:"id"`
	Environment string `db:"environment"`
	App         string `db:"app"`
	Version     string `db:"version"`
	State       string `db:"state"`
	Reason      string `db:"reason"`
	Actor       string `db:"actor"`
	WaitReason  string `db:"wait_reason"`
	Admitted    bool   `db:"admitted"`
	QueueOrder  int64  `db:"queue_order"`
	Seq         int64  `db:"seq"`
	Phase       int    `db:"phase"`
	Batch       int    `db:"batch"`
	PhaseCount  int    `db:"phase_count"`
	FailedBase  int    `db:"failed_base"`
	Total       int    `db:"total"`
	Succeeded   int    `db:"succeeded"`
	Failed      int    `db:"failed"`
	Running     int    `db:"running"`
	Pending     int    `db:"pending"`
	Plan        string `db:"plan"`
	Traceparent string `db:"traceparent"`
	RequestedBy string `db:"requested_by"`
	CreatedAt   string `db:"created_at"`
	UpdatedAt   string `db:"updated_at"`
	// Deadline is the timer of the batch in flight (Rollout.Deadline).
	Deadline string `db:"deadline"`
	// Gate and GatePassed are Rollout.Gate and Rollout.GatePassed.
	Gate       string `db:"gate"`
	GatePassed string `db:"gate_passed"`
	// WaitUntil, Rollback and RollbackBatch are the Rollout fields.
	WaitUntil     string `db:"wait_until"`
	Rollback      string `db:"rollback"`
	RollbackBatch int    `db:"rollback_batch"`
	// AnalysisRound, AnalysisFailed and MeasureSeq are the Rollout fields.
	AnalysisRound  int `db:"analysis_round"`
	AnalysisFailed int `db:"analysis_failed"`
	MeasureSeq     int `db:"measure_seq"`
	// Traffic and TrafficAttempt are the Rollout fields.
	Traffic        string `db:"traffic"`
	TrafficAttempt int    `db:"traffic_attempt"`
	// RunOrder and Guided are Rollout.RunOrder (see formatRunOrder) and
	// Rollout.Guided.
	RunOrder string `db:"run_order"`
	Guided   bool   `db:"guided"`
	// SkippedHosts and ExcludedHosts are Counts.Skipped and Counts.Excluded.
	SkippedHosts  int `db:"skipped_hosts"`
	ExcludedHosts int `db:"excluded_hosts"`
	// QueuePosition is computed by queries that select it (queueColumn).
	QueuePosition int `db:"queue_position"`
}

func toRow(rec Record) rolloutRow {
	r := rec.Rollout
	return rolloutRow{
		ID: r.ID(), Environment: r.Plan.Environment, App: r.Plan.App, Version: r.Plan.Version,
		State: string(r.State), Reason: r.Reason, Actor: r.Actor, WaitReason: r.WaitReason, Admitted: r.Admitted,
		QueueOrder: int64(r.Order), Seq: r.Seq, Phase: r.Phase, Batch: r.Batch, PhaseCount: len(r.Plan.Phases),
		FailedBase: r.FailedBase, Total: r.Counts.Total, Succeeded: r.Counts.Succeeded, Failed: r.Counts.Failed,
		Running: r.Counts.Running, Pending: r.Counts.Pending, Traceparent: rec.Traceparent,
		RequestedBy: r.Plan.RequestedBy, CreatedAt: formatTime(r.CreatedAt), UpdatedAt: formatTime(r.UpdatedAt),
		Deadline: formatTime(r.Deadline), Gate: r.Gate, GatePassed: r.GatePassed,
		WaitUntil: formatTime(r.WaitUntil), Rollback: string(r.Rollback), RollbackBatch: r.RollbackBatch,
		AnalysisRound: r.AnalysisRound, AnalysisFailed: r.AnalysisFailed, MeasureSeq: r.MeasureSeq,
		Traffic: r.Traffic, TrafficAttempt: r.TrafficAttempt,
		RunOrder: formatRunOrder(r.RunOrder), Guided: r.Guided,
		SkippedHosts: r.Counts.Skipped, ExcludedHosts: r.Counts.Excluded,
	}
}

func (row rolloutRow) summary() contracts.RolloutSummary {
	phase := row.Phase
	if row.PhaseCount > 0 && phase >= row.PhaseCount {
		phase = row.PhaseCount - 1
	}
	return contracts.RolloutSummary{
		Rollout: row.ID, App: row.App, Version: row.Version, Environment: row.Environment,
		State: contracts.State(row.State), Reason: row.Reason, Phase: phase,
		Counts: contracts.Counts{Total: row.Total, Succeeded: row.Succeeded, Failed: row.Failed, Running: row.Running, Pending: row.Pending,
			Skipped: row.SkippedHosts, Excluded: row.ExcludedHosts},
		CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt, QueuePosition: row.QueuePosition,
	}
}

// queueColumn computes a queued rollout's place in its environment's queue
// (rollouts_env_state_order makes it an index range count).
const queueColumn = `CASE WHEN r.state = 'queued' THEN 1 + (SELECT COUNT(*) FROM rollouts q
	WHERE q.environment = r.environment AND q.state = 'queued' AND q.queue_order < r.queue_order) ELSE 0 END
	AS queue_position`

// summaryColumns are the rollouts columns without the plan.
const summaryColumns = `id, environment, app, version, state, reason, actor, wait_reason, admitted, queue_order, seq,
	phase, batch, phase_count, failed_base, total, succeeded, failed, running, pending, traceparent, requested_by,
	created_at, updated_at, skipped_hosts, excluded_hosts`

const rolloutColumns = `id, environment, app, version, state, reason, actor, wait_reason, admitted, queue_order, seq,
	phase, batch, phase_count, failed_base, total, succeeded, failed, running, pending, plan, traceparent, requested_by,
	created_at, updated_at, deadline, gate, gate_passed, wait_until, rollback, rollback_batch, analysis_round,
	analysis_failed, measure_seq, traffic, traffic_attempt, run_order, guided, skipped_hosts, excluded_hosts`

// Load reads one rollout; ok is false when there is none with that id.
func (s *Store) Load(ctx context.Context, id string) (rec Record, ok bool, err error) {
	var row rolloutRow
	err = s.db.GetContext(ctx, &row, `SELECT `+rolloutColumns+` FROM rollouts WHERE id = ?`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Record{}, false, nil
	}
	if err != nil {
		return Record{}, false, fmt.Errorf("load rollout %s: %w", id, err)
	}
	rec, err = s.complete(ctx, row)
	if err != nil {
		return Record{}, false, fmt.Errorf("load rollout %s: %w", id, err)
	}
	return rec, true, nil
}

// Exists reports whether a rollout is stored.
func (s *Store) Exists(ctx context.Context, id string) (bool, error) {
	var n int
	if err := s.db.GetContext(ctx, &n, `SELECT count(*) FROM rollouts WHERE id = ?`, id); err != nil {
		return false, fmt.Errorf("look up rollout %s: %w", id, err)
	}
	return n > 0, nil
}

// Live reads every rollout that has not ended, in arrival order.
func (s *Store) Live(ctx context.Context) ([]Record, error) {
	var rows []rolloutRow
	if err := s.db.SelectContext(ctx, &rows, `SELECT `+rolloutColumns+` FROM rollouts
		WHERE state NOT IN (?, ?, ?, ?) ORDER BY queue_order`,
		contracts.StateCompleted, contracts.StateFailed, contracts.StateAborted, contracts.StateRolledBack); err != nil {
		return nil, fmt.Errorf("load live rollouts: %w", err)
	}
	recs := make([]Record, 0, len(rows))
	for _, row := range rows {
		rec, err := s.complete(ctx, row)
		if err != nil {
			return nil, fmt.Errorf("load rollout %s: %w", row.ID, err)
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

// complete reads the plan, hosts and phases of a rollout row.
func (s *Store) complete(ctx context.Context, row rolloutRow) (Record, error) {
	r := rollout.Rollout{
		State: contracts.State(row.State), Order: uint64(row.QueueOrder), Admitted: row.Admitted,
		Reason: row.Reason, Actor: row.Actor, WaitReason: row.WaitReason, Seq: row.Seq, Phase: row.Phase,
		Batch: row.Batch, FailedBase: row.FailedBase, Gate: row.Gate, GatePassed: row.GatePassed,
		Rollback: rollout.RollbackMode(row.Rollback), RollbackBatch: row.RollbackBatch,
		AnalysisRound: row.AnalysisRound, AnalysisFailed: row.AnalysisFailed, MeasureSeq: row.MeasureSeq,
		Traffic: row.Traffic, TrafficAttempt: row.TrafficAttempt, Guided: row.Guided,
		Counts: contracts.Counts{Total: row.Total, Succeeded: row.Succeeded, Failed: row.Failed, Running: row.Running, Pending: row.Pending,
			Skipped: row.SkippedHosts, Excluded: row.ExcludedHosts},
	}
	var err error
	if r.CreatedAt, err = parseTime(row.CreatedAt); err != nil {
		return Record{}, fmt.Errorf("created_at: %w", err)
	}
	if r.UpdatedAt, err = parseTime(row.UpdatedAt); err != nil {
		return Record{}, fmt.Errorf("updated_at: %w", err)
	}
	if r.Deadline, err = parseTime(row.Deadline); err != nil {
		return Record{}, fmt.Errorf("deadline: %w", err)
	}
	if r.WaitUntil, err = parseTime(row.WaitUntil); err != nil {
		return Record{}, fmt.Errorf("wait_until: %w", err)
	}
	if err := json.Unmarshal([]byte(row.Plan), &r.Plan); err != nil {
		return Record{}, fmt.Errorf("decode plan: %w", err)
	}
	if r.RunOrder, err = parseRunOrder(row.RunOrder, len(r.Plan.Phases)); err != nil {
		return Record{}, fmt.Errorf("run_order: %w", err)
	}
	var hosts []struct {
		Host         string `db:"host"`
		Phase        int    `db:"phase"`
		Batch        int    `db:"batch"`
		Status       string `db:"status"`
		Attempt      int    `db:"attempt"`
		ActionID     string `db:"action_id"`
		Error        string `db:"error"`
		DispatchedAt string `db:"dispatched_at"`
		FinishedAt   string `db:"finished_at"`
		Installed    bool   `db:"installed"`
		Rollback     string `db:"rollback"`
		Measured     int    `db:"measured"`
		Recorded     int    `db:"recorded"`
	}
	if err := s.db.SelectContext(ctx, &hosts, `SELECT host, phase, batch, status, attempt, action_id, error,
		dispatched_at, finished_at, installed, rollback, measured, recorded FROM hosts WHERE rollout = ? ORDER BY pos`, row.ID); err != nil {
		return Record{}, fmt.Errorf("hosts: %w", err)
	}
	r.Hosts = make([]rollout.Host, len(hosts))
	for i, h := range hosts {
		r.Hosts[i] = rollout.Host{Name: h.Host, Phase: h.Phase, Batch: h.Batch, Status: rollout.HostStatus(h.Status),
			Attempt: h.Attempt, ActionID: h.ActionID, Error: h.Error, Installed: h.Installed, Rollback: rollout.HostStatus(h.Rollback), Measured: h.Measured, Recorded: h.Recorded}
		if r.Hosts[i].DispatchedAt, err = parseTime(h.DispatchedAt); err != nil {
			return Record{}, fmt.Errorf("host %s dispatched_at: %w", h.Host, err)
		}
		if r.Hosts[i].FinishedAt, err = parseTime(h.FinishedAt); err != nil {
			return Record{}, fmt.Errorf("host %s finished_at: %w", h.Host, err)
		}
	}
	var phases []struct {
		State     string `db:"state"`
		StartedAt string `db:"started_at"`
		Failed    int    `db:"failed"`
		EndedAt   string `db:"ended_at"`
	}
	if err := s.db.SelectContext(ctx, &phases, `SELECT state, started_at, ended_at, failed FROM phases WHERE rollout = ? ORDER BY idx`, row.ID); err != nil {
		return Record{}, fmt.Errorf("phases: %w", err)
	}
	r.Phases = make([]rollout.Phase, len(phases))
	for i, p := range phases {
		r.Phases[i].State = rollout.PhaseState(p.State)
		r.Phases[i].Failed = p.Failed
		if r.Phases[i].StartedAt, err = parseTime(p.StartedAt); err != nil {
			return Record{}, fmt.Errorf("phase %d started_at: %w", i, err)
		}
		if r.Phases[i].EndedAt, err = parseTime(p.EndedAt); err != nil {
			return Record{}, fmt.Errorf("phase %d ended_at: %w", i, err)
		}
	}
	if len(r.Hosts) != r.Plan.TotalHosts() || len(r.Phases) != len(r.Plan.Phases) {
		return Record{}, fmt.Errorf("stored %d hosts and %d phases for a plan of %d and %d",
			len(r.Hosts), len(r.Phases), r.Plan.TotalHosts(), len(r.Plan.Phases))
	}
	r.IndexHosts()
	return Record{Rollout: r, Traceparent: row.Traceparent}, nil
}

// Cursors returns the last applied sequence of each input stream.
func (s *Store) Cursors(ctx context.Context) (map[string]uint64, error) {
	var rows []struct {
		Stream string `db:"stream"`
		Seq    int64  `db:"seq"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT stream, seq FROM cursors`); err != nil {
		return nil, fmt.Errorf("load cursors: %w", err)
	}
	out := make(map[string]uint64, len(rows))
	for _, r := range rows {
		out[r.Stream] = uint64(r.Seq)
	}
	return out, nil
}

// Outbox returns the messages not yet acknowledged, oldest first.
func (s *Store) Outbox(ctx context.Context) ([]OutboxRow, error) {
	var rows []struct {
		ID      int64  `db:"id"`
		Subject string `db:"subject"`
		MsgID   string `db:"msg_id"`
		Data    []byte `db:"data"`
		Headers string `db:"headers"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT id, subject, msg_id, data, headers FROM outbox ORDER BY id`); err != nil {
		return nil, fmt.Errorf("load outbox: %w", err)
	}
	out := make([]OutboxRow, len(rows))
	for i, r := range rows {
		out[i] = OutboxRow{ID: r.ID, Subject: r.Subject, MsgID: r.MsgID, Data: r.Data}
		if err := json.Unmarshal([]byte(r.Headers), &out[i].Header); err != nil {
			return nil, fmt.Errorf("decode headers of outbox row %d: %w", r.ID, err)
		}
	}
	return out, nil
}

// DeleteOutbox removes published messages.
func (s *Store) DeleteOutbox(ctx context.Context, ids []int64) error {
	for chunk := range slices.Chunk(ids, 500) {
		q, args, err := sqlx.In(`DELETE FROM outbox WHERE id IN (?)`, chunk)
		if err != nil {
			return fmt.Errorf("delete outbox rows: %w", err)
		}
		if _, err := s.db.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("delete outbox rows: %w", err)
		}
	}
	return nil
}

// CountByState counts rollouts per state.
func (s *Store) CountByState(ctx context.Context) (map[contracts.State]int, error) {
	var rows []struct {
		State string `db:"state"`
		N     int    `db:"n"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT state, count(*) AS n FROM rollouts GROUP BY state`); err != nil {
		return nil, fmt.Errorf("count rollouts: %w", err)
	}
	out := map[contracts.State]int{}
	for _, r := range rows {
		out[contracts.State(r.State)] = r.N
	}
	return out, nil
}

// View returns one rollout with its phases and hosts, or not_found.
func (s *Store) View(ctx context.Context, id string) (contracts.RolloutView, error) {
	rec, ok, err := s.Load(ctx, id)
	if err != nil {
		return contracts.RolloutView{}, err
	}
	if !ok {
		return contracts.RolloutView{}, contracts.Errorf(contracts.CodeNotFound, "no rollout %q", id)
	}
	v := rec.Rollout.View()
	if err := s.db.GetContext(ctx, &v.QueuePosition, `SELECT `+queueColumn+` FROM rollouts r WHERE id = ?`, id); err != nil {
		return contracts.RolloutView{}, fmt.Errorf("queue position of %s: %w", id, err)
	}
	return v, nil
}

// List limits.
const (
	DefaultListLimit = 100
	MaxListLimit     = 1000
)

// List returns rollouts newest first (by arrival), optionally of one
// environment and state.
func (s *Store) List(ctx context.Context, q contracts.RolloutListQuery) (contracts.RolloutList, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	var where []string
	var args []any
	if q.Environment != "" {
		where = append(where, "environment = ?")
		args = append(args, q.Environment)
	}
	if q.State != "" {
		where = append(where, "state = ?")
		args = append(args, string(q.State))
	}
	query := `SELECT ` + summaryColumns + `, ` + queueColumn + ` FROM rollouts r`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY queue_order DESC LIMIT ?`
	args = append(args, limit)
	var rows []rolloutRow
	if err := s.db.SelectContext(ctx, &rows, query, args...); err != nil {
		return contracts.RolloutList{}, fmt.Errorf("list rollouts: %w", err)
	}
	out := contracts.RolloutList{Rollouts: make([]contracts.RolloutSummary, 0, len(rows))}
	for _, row := range rows {
		out.Rollouts = append(out.Rollouts, row.summary())
	}
	return out, nil
}

func formatTime(t time.Time) string { return rollout.FormatTime(t) }

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}
