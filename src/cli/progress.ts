import cliProgress from 'cli-progress';
import type { Job } from './api-types.js';
import { duration } from './table.js';

/** Shows a running job: a live bar on a terminal, plain lines (one per change) otherwise. */
export interface JobProgress {
  update(job: Job): void;
  stop(): void;
}

export function jobProgress(stream: NodeJS.WriteStream): JobProgress {
  return stream.isTTY ? new BarProgress(stream) : new LineProgress(stream);
}

/** Pages per second since the first page was seen done, and the time left at that rate. */
class Rate {
  private first: { at: number; done: number } | null = null;

  measure(done: number, total: number): { perSecond: number | null; etaMs: number | null } {
    const now = Date.now();
    this.first ??= { at: now, done };
    const seconds = (now - this.first.at) / 1000;
    const perSecond = seconds >= 0.5 && done > this.first.done ? (done - this.first.done) / seconds : null;
    return { perSecond, etaMs: perSecond ? ((total - done) / perSecond) * 1000 : null };
  }
}

const doneOf = (job: Job) => job.completedCount + job.failedCount;

class BarProgress implements JobProgress {
  private readonly bar: cliProgress.SingleBar;
  private readonly rate = new Rate();
  private started = false;

  constructor(stream: NodeJS.WriteStream) {
    this.bar = new cliProgress.SingleBar(
      {
        stream,
        format: '{progress} [{bar}] {value}/{total} pages | {failed} failed | {rate} pages/s | ETA {left}',
        hideCursor: true,
        clearOnComplete: false,
        barsize: 30,
      },
      cliProgress.Presets.shades_classic,
    );
  }

  update(job: Job): void {
    const done = doneOf(job);
    const { perSecond, etaMs } = this.rate.measure(done, job.pageCount);
    const payload = {
      progress: job.progress.padEnd(10),
      failed: job.failedCount,
      rate: perSecond === null ? '-' : perSecond.toFixed(1),
      left: etaMs === null ? '-' : duration(etaMs),
    };
    if (!this.started) {
      this.bar.start(job.pageCount, done, payload);
      this.started = true;
    } else {
      this.bar.setTotal(job.pageCount);
      this.bar.update(done, payload);
    }
  }

  stop(): void {
    if (this.started) this.bar.stop();
  }
}

class LineProgress implements JobProgress {
  private readonly rate = new Rate();
  private last = '';

  constructor(private readonly stream: NodeJS.WriteStream) {}

  update(job: Job): void {
    const done = doneOf(job);
    const { perSecond, etaMs } = this.rate.measure(done, job.pageCount);
    const key = `${job.progress} ${done}/${job.pageCount} ${job.failedCount}`;
    if (key === this.last) return;
    this.last = key;
    const parts = [`${job.progress}: ${done}/${job.pageCount} pages`, `${job.failedCount} failed`];
    if (perSecond !== null) parts.push(`${perSecond.toFixed(1)} pages/s`);
    if (etaMs !== null && done < job.pageCount) parts.push(`ETA ${duration(etaMs)}`);
    this.stream.write(`progress ${parts.join(', ')}\n`);
  }

  stop(): void {}
}
