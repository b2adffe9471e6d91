import fs from 'node:fs';
import path from 'node:path';
import sqlite3 from 'sqlite3';
import type { JobStore } from '../jobs/job-store.js';
import {
  UNFINISHED,
  type JobPatch,
  type JobProgress,
  type JobRecord,
  type PageQuery,
  type PageOutcome,
  type PageRecord,
  type PageTarget,
  type PageStatus,
  type PageUpdate,
} from '../jobs/types.js';
import type { SiteRuntimeState, SiteStateStore } from '../sites/site-state.js';

type Row = Record<string, string | number | null>;

const UNFINISHED_PLACEHOLDERS = UNFINISHED.map(() => '?').join(', ');

const SCHEMA = `
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY, site_id TEXT NOT NULL, action TEXT NOT NULL, trigger TEXT NOT NULL,
  progress TEXT NOT NULL, requested_by TEXT NOT NULL, start_time TEXT NOT NULL, end_time TEXT,
  page_count INTEGER NOT NULL DEFAULT 0, error TEXT, restart_steps TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS jobs_by_site ON jobs (site_id, start_time);
CREATE INDEX IF NOT EXISTS jobs_by_progress ON jobs (progress);
CREATE TABLE IF NOT EXISTS pages (
  job_id TEXT NOT NULL, seq INTEGER NOT NULL, url TEXT NOT NULL, status TEXT NOT NULL,
  http_status INTEGER, rendered_at TEXT, render_time_ms INTEGER, bytes INTEGER,
  attempts INTEGER NOT NULL DEFAULT 0, rendered_by TEXT, error TEXT, failure_kind TEXT,
  variant TEXT NOT NULL DEFAULT 'desktop', outcome TEXT, lastmod INTEGER,
  PRIMARY KEY (job_id, seq)
);
CREATE INDEX IF NOT EXISTS pages_by_status ON pages (job_id, status, seq);
CREATE TABLE IF NOT EXISTS site_slots (site_id TEXT PRIMARY KEY, job_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS site_state (site_id TEXT PRIMARY KEY, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS restart_claims (job_id TEXT PRIMARY KEY);
`;

/** Jobs, pages and site state in an embedded SQLite file: no server, survives restarts. */
export class SqliteStore implements JobStore, SiteStateStore {
  private constructor(private readonly db: sqlite3.Database) {}

  static async open(dir: string): Promise<SqliteStore> {
    fs.mkdirSync(dir, { recursive: true });
    const db = await new Promise<sqlite3.Database>((resolve, reject) => {
      const handle = new sqlite3.Database(path.resolve(dir, 'jobs.sqlite'), (err) => (err ? reject(err) : resolve(handle)));
    });
    db.configure('busyTimeout', 5000);
    const store = new SqliteStore(db);
    await new Promise<void>((resolve, reject) => db.exec(SCHEMA, (err) => (err ? reject(err) : resolve())));
    await store.addMissingColumns();
    return store;
  }

  async createJob(job: JobRecord): Promise<void> {
    await this.run(
      `INSERT INTO jobs (id, site_id, action, trigger, progress, requested_by, start_time, end_time, page_count, error, restart_steps)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)`,
      [
        job.id,
        job.siteId,
        job.action,
        job.trigger,
        job.progress,
        job.requestedBy,
        job.startTime,
        job.endTime,
        job.error ? JSON.stringify(job.error) : null,
        JSON.stringify(job.restartSteps),
      ],
    );
  }

  async addPages(jobId: string, pages: readonly PageTarget[]): Promise<number> {
    if (pages.length === 0) return 0;
    const row = await this.get('SELECT page_count FROM jobs WHERE id = ?', [jobId]);
    let seq = Number(row?.page_count ?? 0);
    // Batches keep one statement under SQLite's parameter limit.
    for (let i = 0; i < pages.length; i += 150) {
      const batch = pages.slice(i, i + 150);
      const values = batch.map(() => "(?, ?, ?, ?, ?, 'pending')").join(', ');
      const params = batch.flatMap((page) => [jobId, seq++, page.url, page.variant, page.lastmod ?? null]);
      await this.run(`INSERT INTO pages (job_id, seq, url, variant, lastmod, status) VALUES ${values}`, params);
    }
    await this.run('UPDATE jobs SET page_count = ? WHERE id = ?', [seq, jobId]);
    return pages.length;
  }

  async getJob(jobId: string): Promise<JobRecord | undefined> {
    const row = await this.get('SELECT * FROM jobs WHERE id = ?', [jobId]);
    return row ? this.toJob(row) : undefined;
  }

  async updateJob(jobId: string, patch: JobPatch, onlyIf?: readonly JobProgress[]): Promise<boolean> {
    const sets: string[] = [];
    const params: Array<string | null> = [];
    if (patch.progress !== undefined) {
      sets.push('progress = ?');
      params.push(patch.progress);
    }
    if (patch.endTime !== undefined) {
      sets.push('end_time = ?');
      params.push(patch.endTime);
    }
    if (patch.error !== undefined) {
      sets.push('error = ?');
      params.push(patch.error ? JSON.stringify(patch.error) : null);
    }
    if (patch.restartSteps !== undefined) {
      sets.push('restart_steps = ?');
      params.push(JSON.stringify(patch.restartSteps));
    }
    if (sets.length === 0) return true;
    const guard = onlyIf ? ` AND progress IN (${onlyIf.map(() => '?').join(', ')})` : '';
    const changed = await this.run(`UPDATE jobs SET ${sets.join(', ')} WHERE id = ?${guard}`, [...params, jobId, ...(onlyIf ?? [])]);
    return changed > 0;
  }

  async updatePage(jobId: string, seq: number, from: PageStatus, patch: PageUpdate & { status: PageStatus }): Promise<boolean> {
    const columns: Record<keyof PageUpdate, string> = {
      status: 'status',
      httpStatus: 'http_status',
      renderedAt: 'rendered_at',
      renderTimeMs: 'render_time_ms',
      bytes: 'bytes',
      attempts: 'attempts',
      renderedBy: 'rendered_by',
      error: 'error',
      failureKind: 'failure_kind',
      outcome: 'outcome',
    };
    const sets: string[] = [];
    const params: Array<string | number | null> = [];
    for (const [key, column] of Object.entries(columns) as Array<[keyof PageUpdate, string]>) {
      if (!(key in patch)) continue;
      const value = patch[key];
      sets.push(`${column} = ?`);
      params.push(key === 'error' ? (value ? JSON.stringify(value) : null) : (value as string | number | null));
    }
    // The status guard makes it a compare-and-set: one statement, so no other write comes between.
    const changed = await this.run(`UPDATE pages SET ${sets.join(', ')} WHERE job_id = ? AND seq = ? AND status = ?`, [...params, jobId, seq, from]);
    return changed > 0;
  }

  async getPage(jobId: string, seq: number): Promise<PageRecord | undefined> {
    const row = await this.get('SELECT * FROM pages WHERE job_id = ? AND seq = ?', [jobId, seq]);
    return row ? toPage(row) : undefined;
  }

  async listPages(jobId: string, query: PageQuery): Promise<{ items: PageRecord[]; total: number }> {
    const conditions = ['job_id = ?'];
    const params: Array<string | number> = [jobId];
    if (query.status) {
      conditions.push('status = ?');
      params.push(query.status);
    }
    // instr, not LIKE: nothing in the searched text is a wildcard.
    if (query.urlContains) {
      conditions.push('instr(lower(url), ?) > 0');
      params.push(query.urlContains.toLowerCase());
    }
    const where = conditions.join(' AND ');
    const [rows, count] = await Promise.all([
      this.all(`SELECT * FROM pages WHERE ${where} ORDER BY seq LIMIT ? OFFSET ?`, [...params, query.limit, query.offset]),
      this.get(`SELECT COUNT(*) AS n FROM pages WHERE ${where}`, params),
    ]);
    return { items: rows.map(toPage), total: Number(count?.n ?? 0) };
  }

  async pageSeqs(jobId: string, status: PageStatus, limit: number): Promise<number[]> {
    const rows = await this.all('SELECT seq FROM pages WHERE job_id = ? AND status = ? ORDER BY seq LIMIT ?', [jobId, status, limit]);
    return rows.map((r) => Number(r.seq));
  }

  async jobsOfSite(siteId: string, limit: number): Promise<JobRecord[]> {
    const rows = await this.all('SELECT * FROM jobs WHERE site_id = ? ORDER BY start_time DESC, rowid DESC LIMIT ?', [siteId, limit]);
    return Promise.all(rows.map((row) => this.toJob(row)));
  }

  async unfinishedJobs(): Promise<JobRecord[]> {
    const rows = await this.all(`SELECT * FROM jobs WHERE progress IN (${UNFINISHED_PLACEHOLDERS})`, [...UNFINISHED]);
    return Promise.all(rows.map((row) => this.toJob(row)));
  }

  async pruneJobs(siteId: string, keep: number): Promise<number> {
    const old = await this.all(
      `SELECT id FROM jobs WHERE site_id = ? AND progress NOT IN (${UNFINISHED_PLACEHOLDERS}) ORDER BY start_time DESC, rowid DESC LIMIT -1 OFFSET ?`,
      [siteId, ...UNFINISHED, keep],
    );
    for (const { id } of old) {
      await this.run('DELETE FROM pages WHERE job_id = ?', [id]);
      await this.run('DELETE FROM restart_claims WHERE job_id = ?', [id]);
      await this.run('DELETE FROM jobs WHERE id = ?', [id]);
    }
    return old.length;
  }

  async claimSiteSlot(siteId: string, jobId: string): Promise<string | null> {
    await this.run('INSERT OR IGNORE INTO site_slots (site_id, job_id) VALUES (?, ?)', [siteId, jobId]);
    const row = await this.get('SELECT job_id FROM site_slots WHERE site_id = ?', [siteId]);
    const holder = row ? String(row.job_id) : null;
    return holder === jobId ? null : holder;
  }

  async releaseSiteSlot(siteId: string, jobId: string): Promise<void> {
    await this.run('DELETE FROM site_slots WHERE site_id = ? AND job_id = ?', [siteId, jobId]);
  }

  async claimOriginRestart(jobId: string): Promise<boolean> {
    return (await this.run('INSERT OR IGNORE INTO restart_claims (job_id) VALUES (?)', [jobId])) > 0;
  }

  async getSiteState(siteId: string): Promise<Partial<SiteRuntimeState> | undefined> {
    const row = await this.get('SELECT state FROM site_state WHERE site_id = ?', [siteId]);
    return row ? (JSON.parse(String(row.state)) as Partial<SiteRuntimeState>) : undefined;
  }

  async saveSiteState(siteId: string, patch: Partial<SiteRuntimeState>): Promise<void> {
    const current = (await this.getSiteState(siteId)) ?? {};
    await this.run('INSERT OR REPLACE INTO site_state (site_id, state) VALUES (?, ?)', [siteId, JSON.stringify({ ...current, ...patch })]);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.db.close(() => resolve()));
  }

  /** A store file written by an older version gains the columns added since. */
  private async addMissingColumns(): Promise<void> {
    const columns = await this.all('PRAGMA table_info(pages)', []);
    if (!columns.some((column) => column.name === 'failure_kind')) await this.run('ALTER TABLE pages ADD COLUMN failure_kind TEXT', []);
    // Pages from before device variants were all rendered as desktop.
    if (!columns.some((column) => column.name === 'variant')) await this.run("ALTER TABLE pages ADD COLUMN variant TEXT NOT NULL DEFAULT 'desktop'", []);
    if (!columns.some((column) => column.name === 'lastmod')) await this.run('ALTER TABLE pages ADD COLUMN lastmod INTEGER', []);
    // Pages from before outcomes were recorded: every completed page was rendered then.
    if (!columns.some((column) => column.name === 'outcome')) {
      await this.run('ALTER TABLE pages ADD COLUMN outcome TEXT', []);
      await this.run("UPDATE pages SET outcome = CASE status WHEN 'complete' THEN 'rendered' WHEN 'failed' THEN 'failed' END", []);
    }
  }

  /** Counters come from the pages themselves: they can never drift from them. */
  private async toJob(row: Row): Promise<JobRecord> {
    const counts = await this.all("SELECT status, COUNT(*) AS n, SUM(outcome = 'unchanged') AS unchanged FROM pages WHERE job_id = ? GROUP BY status", [
      row.id,
    ]);
    const count = (status: PageStatus) => Number(counts.find((c) => c.status === status)?.n ?? 0);
    return {
      id: String(row.id),
      siteId: String(row.site_id),
      action: row.action as JobRecord['action'],
      trigger: row.trigger as JobRecord['trigger'],
      progress: row.progress as JobRecord['progress'],
      requestedBy: String(row.requested_by),
      startTime: String(row.start_time),
      endTime: row.end_time === null ? null : String(row.end_time),
      pageCount: Number(row.page_count),
      completedCount: count('complete'),
      unchangedCount: Number(counts.find((c) => c.status === 'complete')?.unchanged ?? 0),
      failedCount: count('failed'),
      error: row.error ? (JSON.parse(String(row.error)) as JobRecord['error']) : null,
      restartSteps: JSON.parse(String(row.restart_steps)) as JobRecord['restartSteps'],
    };
  }

  /** Resolves the number of rows changed. */
  private run(sql: string, params: unknown[]): Promise<number> {
    return new Promise((resolve, reject) =>
      this.db.run(sql, params, function (this: sqlite3.RunResult, err: Error | null) {
        if (err) reject(err);
        else resolve(this.changes);
      }),
    );
  }

  private get(sql: string, params: unknown[]): Promise<Row | undefined> {
    return new Promise((resolve, reject) => this.db.get(sql, params, (err, row) => (err ? reject(err) : resolve(row as Row | undefined))));
  }

  private all(sql: string, params: unknown[]): Promise<Row[]> {
    return new Promise((resolve, reject) => this.db.all(sql, params, (err, rows) => (err ? reject(err) : resolve(rows as Row[]))));
  }
}

function toPage(row: Row): PageRecord {
  return {
    seq: Number(row.seq),
    pageUrl: String(row.url),
    variant: String(row.variant),
    lastmod: row.lastmod === null || row.lastmod === undefined ? null : Number(row.lastmod),
    status: row.status as PageStatus,
    httpStatus: row.http_status === null ? null : Number(row.http_status),
    renderedAt: row.rendered_at === null ? null : String(row.rendered_at),
    renderTimeMs: row.render_time_ms === null ? null : Number(row.render_time_ms),
    bytes: row.bytes === null ? null : Number(row.bytes),
    attempts: Number(row.attempts),
    renderedBy: row.rendered_by === null ? null : String(row.rendered_by),
    error: row.error ? (JSON.parse(String(row.error)) as PageRecord['error']) : null,
    failureKind: row.failure_kind ? (String(row.failure_kind) as PageRecord['failureKind']) : null,
    outcome: row.outcome ? (String(row.outcome) as PageOutcome) : null,
  };
}
