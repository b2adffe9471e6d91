import { PAGE_READ_BATCH, type JobStore } from '../jobs/job-store.js';
import {
  isUnfinished,
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
import { openCommandConnection, slotTag, type RedisConnection, type RedisPolicy } from '../redis/redis-connection.js';
import type { SiteRuntimeState, SiteStateStore } from '../sites/site-state.js';

const STATUSES: readonly PageStatus[] = ['pending', 'processing', 'complete', 'failed'];
/** The seqs of a job's pages that ended unchanged (a subset of complete): unchangedCount in one ZCARD. */
const UNCHANGED = 'unchanged';
const ALL_PROGRESS: readonly JobProgress[] = ['pending', 'processing', 'succeeded', 'failed', 'aborted'];

/** KEYS: job hash, unfinished set. ARGV: record, job id, ended (0|1), allowed states… */
const SET_JOB_IF = `
local record = redis.call('hget', KEYS[1], 'record')
if not record then return 0 end
local progress = cjson.decode(record)['progress']
for i = 4, #ARGV do
  if progress == ARGV[i] then
    redis.call('hset', KEYS[1], 'record', ARGV[1])
    if ARGV[3] == '1' then redis.call('srem', KEYS[2], ARGV[2]) end
    return 1
  end
end
return 0`;

/**
 * KEYS: pages hash, the page's new status set, every other status set. ARGV: seq, the
 * record as read, the new record. Writes only if the record is still the one read.
 */
const SET_PAGE_IF = `
if redis.call('hget', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('hset', KEYS[1], ARGV[1], ARGV[3])
for i = 4, #KEYS do redis.call('zrem', KEYS[i], ARGV[1]) end
redis.call('zadd', KEYS[2], tonumber(ARGV[1]), ARGV[1])
if ARGV[4] == '1' then redis.call('zadd', KEYS[3], tonumber(ARGV[1]), ARGV[1]) else redis.call('zrem', KEYS[3], ARGV[1]) end
return 1`;

/** Tries of a page update whose record changed between read and write, its status unchanged. */
const PAGE_WRITE_TRIES = 3;

/**
 * Jobs, pages and site state in Redis, shared by every instance. A job is a hash; its
 * pages are one hash (seq → record) plus one sorted set of seqs per status, so paging,
 * filtering and counting never load the whole job.
 */
export class RedisStore implements JobStore, SiteStateStore {
  /** Every key starts with one hash tag: a job's Lua scripts and MULTIs touch several keys, which Redis Cluster allows in one slot only. */
  private readonly ns: string;

  private constructor(
    private readonly redis: RedisConnection,
    namespace: string,
    private readonly ownsConnection: boolean,
  ) {
    this.ns = slotTag(namespace, 'jobs');
  }

  /** Over its own connection under the Redis policy (fails fast while Redis is away); rejects when Redis does not answer. */
  static async open(policy: RedisPolicy, namespace: string): Promise<RedisStore> {
    return new RedisStore(await openCommandConnection(policy), namespace, true);
  }

  /** Over a request connection it shares with others (the engine's); whoever opened it closes it. */
  static over(connection: RedisConnection, namespace: string): RedisStore {
    return new RedisStore(connection, namespace, false);
  }

  private key(...parts: string[]): string {
    return [this.ns, ...parts].join(':');
  }

  async createJob(job: JobRecord): Promise<void> {
    await this.redis
      .multi()
      .hset(this.key('job', job.id), {
        record: JSON.stringify({ ...job, pageCount: 0, completedCount: 0, unchangedCount: 0, failedCount: 0 }),
        pageCount: 0,
      })
      .zadd(this.key('site', job.siteId, 'jobs'), Date.parse(job.startTime), job.id)
      .sadd(this.key('jobs', 'unfinished'), job.id)
      .exec();
  }

  async addPages(jobId: string, pages: readonly PageTarget[]): Promise<number> {
    if (pages.length === 0) return 0;
    const end = await this.redis.hincrby(this.key('job', jobId), 'pageCount', pages.length);
    let seq = end - pages.length;
    for (let i = 0; i < pages.length; i += 1000) {
      const batch = pages.slice(i, i + 1000);
      const fields: Record<string, string> = {};
      const scored: Array<number | string> = [];
      for (const target of batch) {
        const page: PageRecord = {
          seq,
          pageUrl: target.url,
          variant: target.variant,
          lastmod: target.lastmod ?? null,
          status: 'pending',
          httpStatus: null,
          renderedAt: null,
          renderTimeMs: null,
          bytes: null,
          attempts: 0,
          renderedBy: null,
          error: null,
          failureKind: null,
          outcome: null,
        };
        fields[String(seq)] = JSON.stringify(page);
        scored.push(seq, String(seq));
        seq++;
      }
      await this.redis
        .multi()
        .hset(this.key('job', jobId, 'pages'), fields)
        .zadd(this.key('job', jobId, 'st', 'pending'), ...scored)
        .exec();
    }
    return pages.length;
  }

  async getJob(jobId: string): Promise<JobRecord | undefined> {
    const [record, pageCount] = await this.redis.hmget(this.key('job', jobId), 'record', 'pageCount');
    if (!record) return undefined;
    const job = JSON.parse(record) as JobRecord;
    const [completed, unchanged, failed] = await Promise.all([
      this.redis.zcard(this.key('job', jobId, 'st', 'complete')),
      this.redis.zcard(this.key('job', jobId, UNCHANGED)),
      this.redis.zcard(this.key('job', jobId, 'st', 'failed')),
    ]);
    return { ...job, pageCount: Number(pageCount ?? 0), completedCount: completed, unchangedCount: unchanged, failedCount: failed };
  }

  async updateJob(jobId: string, patch: JobPatch, onlyIf: readonly JobProgress[] = ALL_PROGRESS): Promise<boolean> {
    const record = await this.redis.hget(this.key('job', jobId), 'record');
    if (!record) return false;
    const job = { ...(JSON.parse(record) as JobRecord), ...patch };
    const ended = isUnfinished(job.progress) ? '0' : '1';
    // The state is checked and the record written in one script: instances racing to end a job cannot both win.
    const done = await this.redis.eval(SET_JOB_IF, 2, this.key('job', jobId), this.key('jobs', 'unfinished'), JSON.stringify(job), jobId, ended, ...onlyIf);
    return done === 1;
  }

  async updatePage(jobId: string, seq: number, from: PageStatus, patch: PageUpdate & { status: PageStatus }): Promise<boolean> {
    const pages = this.key('job', jobId, 'pages');
    const others = STATUSES.filter((status) => status !== patch.status).map((status) => this.key('job', jobId, 'st', status));
    for (let tries = 0; tries < PAGE_WRITE_TRIES; tries++) {
      const raw = await this.redis.hget(pages, String(seq));
      if (!raw) return false;
      const page = readPage(raw);
      if (page.status !== from) return false;
      const next: PageRecord = { ...page, ...patch };
      // Checked and written in one script: of two instances racing on one page, one records
      // it. The page leaves every other status set, so it is never counted twice.
      const written = await this.redis.eval(
        SET_PAGE_IF,
        3 + others.length,
        pages,
        this.key('job', jobId, 'st', patch.status),
        this.key('job', jobId, UNCHANGED),
        ...others,
        String(seq),
        raw,
        JSON.stringify(next),
        next.outcome === 'unchanged' ? '1' : '0',
      );
      if (written === 1) return true;
    }
    return false;
  }

  async getPage(jobId: string, seq: number): Promise<PageRecord | undefined> {
    const raw = await this.redis.hget(this.key('job', jobId, 'pages'), String(seq));
    return raw ? readPage(raw) : undefined;
  }

  async listPages(jobId: string, query: PageQuery): Promise<{ items: PageRecord[]; total: number }> {
    if (query.urlContains) return this.searchPages(jobId, query, query.urlContains.toLowerCase());
    let seqs: string[];
    let total: number;
    if (query.status) {
      const set = this.key('job', jobId, 'st', query.status);
      [seqs, total] = await Promise.all([this.redis.zrange(set, query.offset, query.offset + query.limit - 1), this.redis.zcard(set)]);
    } else {
      total = Number((await this.redis.hget(this.key('job', jobId), 'pageCount')) ?? 0);
      const last = Math.min(total, query.offset + query.limit);
      seqs = [];
      for (let s = query.offset; s < last; s++) seqs.push(String(s));
    }
    if (seqs.length === 0) return { items: [], total };
    const raws = await this.redis.hmget(this.key('job', jobId, 'pages'), ...seqs);
    return { items: raws.filter((r): r is string => r !== null).map((r) => readPage(r)), total };
  }

  /**
   * Pages whose URL contains `needle`: records hold the URL, so the job's pages (or those of
   * one status) are read in batches, in seq order; the work grows with the job, never loads it whole.
   */
  private async searchPages(jobId: string, query: PageQuery, needle: string): Promise<{ items: PageRecord[]; total: number }> {
    const items: PageRecord[] = [];
    let total = 0;
    const pageCount = Number((await this.redis.hget(this.key('job', jobId), 'pageCount')) ?? 0);
    const set = query.status ? this.key('job', jobId, 'st', query.status) : null;
    for (let from = 0; ; from += PAGE_READ_BATCH) {
      const seqs = set
        ? await this.redis.zrange(set, from, from + PAGE_READ_BATCH - 1)
        : Array.from({ length: Math.max(0, Math.min(PAGE_READ_BATCH, pageCount - from)) }, (_, i) => String(from + i));
      if (seqs.length === 0) break;
      for (const raw of await this.redis.hmget(this.key('job', jobId, 'pages'), ...seqs)) {
        if (raw === null) continue;
        const page = readPage(raw);
        if (!page.pageUrl.toLowerCase().includes(needle)) continue;
        if (total >= query.offset && items.length < query.limit) items.push(page);
        total++;
      }
    }
    return { items, total };
  }

  async pageSeqs(jobId: string, status: PageStatus, limit: number): Promise<number[]> {
    const seqs = await this.redis.zrange(this.key('job', jobId, 'st', status), 0, limit - 1);
    return seqs.map(Number);
  }

  async jobsOfSite(siteId: string, limit: number): Promise<JobRecord[]> {
    const ids = await this.redis.zrevrange(this.key('site', siteId, 'jobs'), 0, limit - 1);
    const jobs = await Promise.all(ids.map((id) => this.getJob(id)));
    return jobs.filter((j): j is JobRecord => j !== undefined);
  }

  async unfinishedJobs(): Promise<JobRecord[]> {
    const ids = await this.redis.smembers(this.key('jobs', 'unfinished'));
    const jobs = await Promise.all(ids.map((id) => this.getJob(id)));
    return jobs.filter((j): j is JobRecord => j !== undefined);
  }

  async pruneJobs(siteId: string, keep: number): Promise<number> {
    const index = this.key('site', siteId, 'jobs');
    const ids = await this.redis.zrevrange(index, keep, -1);
    let removed = 0;
    for (const id of ids) {
      const job = await this.getJob(id);
      if (job && isUnfinished(job.progress)) continue;
      const tx = this.redis
        .multi()
        .del(this.key('job', id), this.key('job', id, 'pages'))
        .zrem(index, id);
      for (const status of STATUSES) tx.del(this.key('job', id, 'st', status));
      tx.del(this.key('job', id, UNCHANGED));
      await tx.exec();
      removed++;
    }
    return removed;
  }

  async claimSiteSlot(siteId: string, jobId: string): Promise<string | null> {
    const slot = this.key('site', siteId, 'slot');
    const ok = await this.redis.set(slot, jobId, 'NX');
    if (ok === 'OK') return null;
    const holder = await this.redis.get(slot);
    return holder === jobId ? null : holder;
  }

  async releaseSiteSlot(siteId: string, jobId: string): Promise<void> {
    const slot = this.key('site', siteId, 'slot');
    // Release only our own claim (compare-and-delete).
    await this.redis.eval("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0", 1, slot, jobId);
  }

  async claimOriginRestart(jobId: string): Promise<boolean> {
    // A field of the job's own hash: it goes when the job is pruned, and a missing job claims nothing.
    const claimed = await this.redis.eval(
      "if redis.call('exists', KEYS[1]) == 1 then return redis.call('hsetnx', KEYS[1], 'restartClaimed', '1') end return 0",
      1,
      this.key('job', jobId),
    );
    return claimed === 1;
  }

  async getSiteState(siteId: string): Promise<Partial<SiteRuntimeState> | undefined> {
    const raw = await this.redis.get(this.key('site', siteId, 'state'));
    return raw ? (JSON.parse(raw) as Partial<SiteRuntimeState>) : undefined;
  }

  async saveSiteState(siteId: string, patch: Partial<SiteRuntimeState>): Promise<void> {
    const current = (await this.getSiteState(siteId)) ?? {};
    await this.redis.set(this.key('site', siteId, 'state'), JSON.stringify({ ...current, ...patch }));
  }

  async close(): Promise<void> {
    if (this.ownsConnection) await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

/** A page record; one written before device variants was rendered as desktop. */
function readPage(raw: string): PageRecord {
  const page = JSON.parse(raw) as Omit<PageRecord, 'variant' | 'outcome' | 'lastmod'> & Partial<Pick<PageRecord, 'variant' | 'outcome' | 'lastmod'>>;
  return { variant: 'desktop', outcome: outcomeOf(page.status), lastmod: null, ...page };
}

/** The outcome of a page written before outcomes were recorded: every completed page was rendered then. */
function outcomeOf(status: PageStatus): PageOutcome | null {
  return status === 'complete' ? 'rendered' : status === 'failed' ? 'failed' : null;
}
