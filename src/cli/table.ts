/** Tables for people: columns padded to their widest cell, a header, no borders. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

/** A value for a table cell: "-" for nothing. */
export const cell = (value: string | number | boolean | null | undefined): string =>
  value === null || value === undefined || value === '' ? '-' : String(value);

/** A duration in words: 850 ms, 12.3 s, 4m05s. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/** The time between a job's start and end (or now). */
export function elapsed(start: string, end: string | null): string {
  return duration((end ? Date.parse(end) : Date.now()) - Date.parse(start));
}
