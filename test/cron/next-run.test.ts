import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { nextRun, nextRunWithOffset, previousTick, shortestIntervalMs } from '../../src/cron/next-run.js';
import { scheduleProblem } from '../../src/cron/schedule-problem.js';
import { stringMatching } from '../helpers/matchers.js';

const at = (iso: string) => new Date(iso);
const iso = (date: Date) => date.toISOString();

describe('next run and previous tick', () => {
  it('reads 6-field expressions (seconds first) as well as 5-field ones', () => {
    expect(iso(nextRun('*/2 * * * * *', 'UTC', at('2025-01-06T10:20:30.500Z')))).toBe('2025-01-06T10:20:32.000Z');
    expect(iso(nextRun('0 * * * *', 'UTC', at('2025-01-06T10:20:30.500Z')))).toBe('2025-01-06T11:00:00.000Z');
  });

  it('follows the time zone of the schedule, summer time included', () => {
    expect(iso(nextRun('0 9 * * *', 'Europe/Paris', at('2025-01-06T00:00:00Z')))).toBe('2025-01-06T08:00:00.000Z');
    expect(iso(nextRun('0 9 * * *', 'Europe/Paris', at('2025-07-06T00:00:00Z')))).toBe('2025-07-06T07:00:00.000Z');
    // Hourly in a half-hour zone ticks at :30 UTC.
    expect(iso(previousTick('0 * * * *', 'Asia/Kolkata', at('2025-01-06T10:20:00Z')))).toBe('2025-01-06T09:30:00.000Z');
  });

  it('gives the most recent tick strictly before the time', () => {
    expect(iso(previousTick('0 * * * *', 'UTC', at('2025-01-06T10:20:00Z')))).toBe('2025-01-06T10:00:00.000Z');
    expect(iso(previousTick('0 * * * *', 'UTC', at('2025-01-06T10:00:00.000Z')))).toBe('2025-01-06T09:00:00.000Z');
    expect(iso(previousTick('*/2 * * * * *', 'UTC', at('2025-01-06T10:20:31.900Z')))).toBe('2025-01-06T10:20:30.000Z');
  });

  it('counts a passed tick whose delayed run has not started yet as the next run', () => {
    const offset = 90_000;
    expect(iso(nextRunWithOffset('0 * * * *', 'UTC', offset, at('2025-01-06T10:00:30Z')))).toBe('2025-01-06T10:01:30.000Z');
    expect(iso(nextRunWithOffset('0 * * * *', 'UTC', offset, at('2025-01-06T10:01:30Z')))).toBe('2025-01-06T11:01:30.000Z');
    expect(iso(nextRunWithOffset('0 * * * *', 'UTC', 0, at('2025-01-06T10:00:30Z')))).toBe('2025-01-06T11:00:00.000Z');
  });

  it('finds the shortest gap between ticks', () => {
    expect(shortestIntervalMs('0 * * * *', 'UTC')).toBe(3_600_000);
    expect(shortestIntervalMs('*/2 * * * * *', 'UTC')).toBe(2000);
    expect(shortestIntervalMs('0,1 * * * *', 'UTC')).toBe(60_000);
    expect(shortestIntervalMs('30 9 * * 1-5', 'Europe/Paris')).toBe(86_400_000);
  });
});

describe('schedule validation', () => {
  it('accepts 5 and 6 fields and the nicknames', () => {
    for (const expr of ['0 * * * *', '*/5 * * * * *', '@hourly', '0 0 L * *', '15 3 * * MON-FRI']) {
      expect(scheduleProblem(expr, 'UTC'), expr).toBeNull();
    }
  });

  it('names the field at fault and says why', () => {
    expect(scheduleProblem('* * * * * * *', 'UTC')).toMatchObject({ field: 'schedule', message: stringMatching(/7 fields; expected 5 .* or 6/) });
    expect(scheduleProblem('* * *', 'UTC')).toMatchObject({ field: 'schedule', message: stringMatching(/3 fields/) });
    expect(scheduleProblem('61 * * * *', 'UTC')).toMatchObject({ field: 'schedule', message: stringMatching(/not a valid cron expression/) });
    expect(scheduleProblem('0 0 1-7 * 1', 'UTC')).toMatchObject({ field: 'schedule', message: stringMatching(/both the day of month and the day of week/) });
    // cron-parser reads H (hash), node-cron does not: the local scheduler could not run it.
    expect(scheduleProblem('H * * * *', 'UTC')).toMatchObject({ field: 'schedule', message: stringMatching(/node-cron/) });
    expect(scheduleProblem('0 * * * *', 'Mars/Olympus')).toMatchObject({ field: 'timezone', message: stringMatching(/unknown time zone "Mars\/Olympus"/) });
  });

  it('stops config loading with the site field in the message', () => {
    const sites = [
      { id: 'a', name: 'A', origin: 'https://a.example.com', schedule: '0 * * * * * *' },
      { id: 'b', name: 'B', origin: 'https://b.example.com', timezone: 'Nowhere/Land' },
    ];
    expect(() => parseConfig({ sites })).toThrow(ConfigError);
    try {
      parseConfig({ sites });
    } catch (err) {
      expect((err as Error).message).toMatch(/sites\[0\]\.schedule: "0 \* \* \* \* \* \*" has 7 fields/);
      expect((err as Error).message).toMatch(/sites\[1\]\.timezone: unknown time zone "Nowhere\/Land"/);
    }
  });

  it('defaults the schedule section', () => {
    expect(parseConfig({}).schedule).toEqual({ enabled: true, jitterSeconds: 300, catchUp: true });
    expect(() => parseConfig({ schedule: { jitterSeconds: -1 } })).toThrow(/schedule\.jitterSeconds/);
    expect(() => parseConfig({ schedule: { every: 5 } })).toThrow(ConfigError);
  });
});
