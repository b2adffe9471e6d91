import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configTable, readmeWithTable } from '../../scripts/config-table.js';

describe("the README's configuration table", () => {
  it('is the one generated from the config schema (run `npm run docs:config` when this fails)', () => {
    const readme = fs.readFileSync('README.md', 'utf8');
    expect(readme).toBe(readmeWithTable(readme));
  });

  it('documents every option of the schema with its default', () => {
    const table = configTable();
    for (const key of ['server.port', 'render.deadlineMs', 'sites[].allowPrivateNetwork', 'cluster.role']) expect(table).toContain(`| \`${key}\` |`);
    expect(table).toContain('| `render.deadlineMs` | `20000` |');
  });
});
