import fs from 'node:fs';
import os from 'node:os';

/** What the machine and this process tree use now. */
export interface TreeUsage {
  /** Share of the machine's CPU in use since the previous reading (0-1), all processes. */
  cpuBusy: number;
  /** Resident memory of this process and its descendants (Chromium's processes included). */
  memoryBytes: number;
}

/**
 * Reads CPU and memory use: the machine's CPU from os.cpus(), and the resident memory of
 * this process's tree from /proc (each process's RSS; shared pages count in every process
 * that maps them, so the sum is above the tree's PSS, never below it). Where /proc is
 * missing (not Linux), the memory is this process's own RSS.
 */
export class ProcessTreeUsage {
  private lastCpu = cpuTimes();

  constructor(private readonly rootPid = process.pid) {}

  read(): TreeUsage {
    const now = cpuTimes();
    const total = now.total - this.lastCpu.total;
    const idle = now.idle - this.lastCpu.idle;
    this.lastCpu = now;
    return { cpuBusy: total > 0 ? Math.min(1, Math.max(0, 1 - idle / total)) : 0, memoryBytes: this.treeResidentBytes() };
  }

  private treeResidentBytes(): number {
    let bytes = 0;
    let found = false;
    for (const pid of descendantsAndSelf(this.rootPid)) {
      const pages = residentPages(pid);
      if (pages === null) continue;
      found = true;
      bytes += pages * pageSize();
    }
    return found ? bytes : process.memoryUsage.rss();
  }
}

let knownPageSize: number | null = null;

/** The kernel's page size, from this process's RSS in bytes and in pages (4 KiB on most, 16 or 64 KiB on some arm64). */
function pageSize(): number {
  if (knownPageSize === null) {
    const pages = residentPages(process.pid);
    const measured = pages ? process.memoryUsage.rss() / pages : 4096;
    knownPageSize = 2 ** Math.round(Math.log2(measured));
  }
  return knownPageSize;
}

function cpuTimes(): { total: number; idle: number } {
  let total = 0;
  let idle = 0;
  for (const cpu of os.cpus()) {
    const t = cpu.times;
    total += t.user + t.nice + t.sys + t.idle + t.irq;
    idle += t.idle;
  }
  return { total, idle };
}

/** The pid and every descendant, through /proc/<pid>/task/<tid>/children. */
function descendantsAndSelf(root: number): number[] {
  const seen: number[] = [];
  const todo = [root];
  while (todo.length > 0) {
    const pid = todo.pop() as number;
    seen.push(pid);
    for (const child of childrenOf(pid)) todo.push(child);
  }
  return seen;
}

function childrenOf(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const children: number[] = [];
  for (const tid of tasks) {
    try {
      for (const word of fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ')) {
        const child = Number(word);
        if (Number.isInteger(child) && child > 0) children.push(child);
      }
    } catch {
      // The thread ended while we read: its children, if any, are re-parented and read elsewhere.
    }
  }
  return children;
}

/** Resident pages of one process (the second field of /proc/<pid>/statm), null when it is gone. */
function residentPages(pid: number): number | null {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ');
    const pages = Number(fields[1]);
    return Number.isFinite(pages) ? pages : null;
  } catch {
    return null;
  }
}
