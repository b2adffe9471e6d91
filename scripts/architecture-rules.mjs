#!/usr/bin/env node
// The dependency rules ARE the "Modules" table of docs/architecture.md: this script reads the
// table and turns each row's "never imports" cell into one dependency-cruiser `forbidden` rule,
// so the document cannot silently become false. .dependency-cruiser.cjs and
// scripts/check-architecture.mjs both take their rules from here; nothing else lists folders.
//
//   node scripts/architecture-rules.mjs          the rows, the rules and the exceptions, readable
//   node scripts/architecture-rules.mjs --json   { rows, exceptions, forbidden, problems } for the config
//
// It fails (exit 1, one line per problem) when the table and the tree disagree: a row names a
// path that does not exist, a file or folder in src/ belongs to no row, a "never imports" word
// has no meaning below, or a path that a word means is gone. Fix the document (or, for a new
// word, WORDS below), never the check.
//
// How a cell is read, term by term (terms are separated by commas):
//   - a word from WORDS below (HTTP, puppeteer, ...): the paths and packages it names;
//   - the name of another row (`cache`, `queue`, `engine/cluster`, or a row's last segment when
//     that is unique): everything under that row, its nested rows included;
//   - `anything else`: every other module in src/;
//   - `internals beyond X` (X a path under src/, e.g. `service.ts`): every other module in src/ but X;
//   - `<row> internals`: everything under that row except its interface (types.ts, index.ts at its top).
// The document's own exceptions are honoured: a sentence "`src/config` imports `schedule/next-run`"
// anywhere in the document allows exactly that import to the row it names (see EXCEPTION below).
// Type-only imports count: `import type` still ties one folder to the other.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DOC = 'docs/architecture.md';

/**
 * What the table's words mean. `paths` are under the repository root and must exist; `ifPresent`
 * paths count while they exist (a file that may move into one of `paths`); `packages` are npm names.
 */
const HTTP_ROUTES = { paths: ['src/api', 'src/serving'], ifPresent: [], packages: ['koa', '@koa/*', 'koa-compose'] };
const HTTP_SERVER = { ...HTTP_ROUTES, ifPresent: ['src/http-drain.ts'] };
export const WORDS = {
  // The service's HTTP side: Koa, the routes (src/api, src/serving) and the server's connections
  // (http-drain). Not an HTTP client (undici, the adapters' `http`) and not node:http as the
  // egress proxy in src/render uses it.
  'http routes': HTTP_ROUTES,
  'http server': HTTP_SERVER,
  http: HTTP_SERVER,
  puppeteer: { paths: [], ifPresent: [], packages: ['puppeteer', 'puppeteer-core'] },
};

/** Phrases the Decisions section uses for an import target that it does not write as a path. */
const NAMED_TARGETS = {
  'the adapter registry': ['src/adapters/index.ts', 'src/adapters/registry.ts'],
};

/** "`src/config` imports `schedule/next-run`" or "`src/config` imports the adapter registry". */
const EXCEPTION = /`(src\/[^`\s]+)`\s+imports\s+(`[^`]+`|the [a-z-]+ [a-z-]+)/g;

const INTERFACE_FILES = ['types.ts', 'index.ts'];
const SOURCE_EXTENSIONS = /\.(ts|mts|cts|tsx|js|mjs|cjs)$/;

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** A regular expression matching a path and, when it is a folder, everything under it. */
const pathPattern = (p, root = ROOT) => (isFile(p, root) ? `^${escape(p)}$` : `^${escape(p)}/`);
const packagePattern = (name) => `(^|/)node_modules/${name.endsWith('/*') ? `${escape(name.slice(0, -2))}/[^/]+` : escape(name)}/`;

function isFile(p, root = ROOT) {
  try {
    return fs.statSync(path.join(root, p)).isFile();
  } catch {
    return SOURCE_EXTENSIONS.test(p);
  }
}
const exists = (p, root) => fs.existsSync(path.join(root, p));

function splitRow(line) {
  const cells = line
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/);
  return cells.map((c) => c.trim());
}

/** The rows of the Modules table: [{ row, never: [term], line }]. */
export function readModulesTable(text) {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /^##\s+Modules\s*$/.test(l));
  if (start < 0) throw new Error(`${DOC}: no "## Modules" section`);
  const tableAt = lines.findIndex((l, i) => i > start && l.trim().startsWith('|'));
  if (tableAt < 0) throw new Error(`${DOC}: the Modules section has no table`);
  const header = splitRow(lines[tableAt]).map((h) => h.toLowerCase());
  const folderCol = header.indexOf('folder');
  const neverCol = header.indexOf('never imports');
  if (folderCol < 0 || neverCol < 0) throw new Error(`${DOC}: the Modules table needs the columns "folder" and "never imports" (has: ${header.join(', ')})`);
  const rows = [];
  for (let i = tableAt + 2; i < lines.length && lines[i].trim().startsWith('|'); i++) {
    const cells = splitRow(lines[i]);
    const folder = /`([^`]+)`/.exec(cells[folderCol] ?? '')?.[1] ?? (cells[folderCol] ?? '').trim();
    const never = (cells[neverCol] ?? '')
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean);
    rows.push({ row: folder.replace(/\/$/, ''), never, line: i + 1 });
  }
  return rows;
}

/** Every source file under src/, as paths from the root. */
function sourceFiles(root, dir = 'src') {
  const out = [];
  for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const p = `${dir}/${entry.name}`;
    if (entry.isDirectory()) out.push(...sourceFiles(root, p));
    else if (SOURCE_EXTENSIONS.test(entry.name)) out.push(p);
  }
  return out;
}

/** The row a path belongs to: the longest row that is the path or a folder above it. */
export function rowOf(rows, p) {
  let best = null;
  for (const { row } of rows) if ((p === row || p.startsWith(`${row}/`)) && (!best || row.length > best.length)) best = row;
  return best;
}

/**
 * Reads the document and the tree; returns the rows, the exceptions, one dependency-cruiser rule
 * per row with a "never imports" cell, and the problems (disagreements between table and tree).
 */
export function architectureRules({ root = ROOT, docText } = {}) {
  const text = docText ?? fs.readFileSync(path.join(root, DOC), 'utf8');
  const rows = readModulesTable(text);
  const problems = [];
  const at = (r) => `${DOC}:${r.line} (${r.row})`;

  const seen = new Set();
  for (const r of rows) {
    if (!r.row.startsWith('src/')) problems.push(`${at(r)}: a row must name a path under src/`);
    else if (!exists(r.row, root)) problems.push(`${at(r)}: ${r.row} does not exist`);
    if (seen.has(r.row)) problems.push(`${at(r)}: ${r.row} has two rows`);
    seen.add(r.row);
  }
  const files = sourceFiles(root);
  const homeless = new Set();
  for (const f of files) {
    if (rowOf(rows, f)) continue;
    // Name the top-most folder (or file) missing from the table, once.
    const parts = f.split('/');
    let missing = f;
    for (let i = 2; i < parts.length; i++) {
      const p = parts.slice(0, i).join('/');
      if (!rows.some((r) => r.row.startsWith(`${p}/`))) {
        missing = p;
        break;
      }
    }
    homeless.add(missing);
  }
  for (const h of homeless) problems.push(`${DOC}: ${h} is in src/ but has no row in the Modules table`);

  // The document's exceptions: "`src/X` imports `Y`".
  const flat = text.replace(/\s+/g, ' ');
  const exceptions = [];
  for (const m of flat.matchAll(EXCEPTION)) {
    const from = m[1].replace(/\/$/, '');
    const target = m[2];
    let to;
    if (target.startsWith('`')) {
      const named = target.slice(1, -1).replace(/\.js$/, '');
      const base = named.startsWith('src/') ? named : `src/${named}`;
      to = [exists(`${base}.ts`, root) ? `${base}.ts` : base];
    } else {
      to = NAMED_TARGETS[target.toLowerCase()];
      if (!to) {
        problems.push(
          `${DOC}: "${m[0]}": no meaning for "${target}" (write the path in backticks, or add it to NAMED_TARGETS in scripts/architecture-rules.mjs)`,
        );
        continue;
      }
    }
    const present = to.filter((p) => exists(p, root));
    if (!seen.has(from)) problems.push(`${DOC}: "${m[0]}": ${from} has no row in the Modules table`);
    if (present.length === 0) problems.push(`${DOC}: "${m[0]}": ${to.join(' / ')} does not exist`);
    else exceptions.push({ from, to: present, text: m[0] });
  }

  const rowByName = (term) => {
    const t = term.replace(/^src\//, '');
    const exact = rows.find((r) => r.row === `src/${t}`);
    if (exact) return exact.row;
    const bySegment = rows.filter((r) => r.row.split('/').pop() === t);
    return bySegment.length === 1 ? bySegment[0].row : null;
  };

  /** A term's targets: { paths, notPaths, packages } or a problem. */
  const resolve = (r, raw) => {
    const term = raw.replace(/`/g, '').trim();
    const lower = term.toLowerCase();
    const word = WORDS[lower];
    if (word) {
      const gone = word.paths.filter((p) => !exists(p, root));
      if (gone.length) return { problem: `"${term}" means ${gone.join(', ')}, which is gone: update WORDS in scripts/architecture-rules.mjs` };
      return { paths: [...word.paths, ...word.ifPresent.filter((p) => exists(p, root))], notPaths: [], packages: word.packages };
    }
    if (lower === 'anything else') return { paths: ['src'], notPaths: [r.row], packages: [] };
    const beyond = /^internals beyond (.+)$/i.exec(term);
    if (beyond) {
      const keep = beyond[1].split(/\s*(?:,|and)\s*/).map((k) => (k.startsWith('src/') ? k : `src/${k}`));
      const gone = keep.filter((k) => !exists(k, root));
      if (gone.length) return { problem: `"${raw}": ${gone.join(', ')} does not exist` };
      return { paths: ['src'], notPaths: [r.row, ...keep], packages: [] };
    }
    const internals = /^(.+?) internals$/i.exec(term);
    if (internals) {
      const target = rowByName(internals[1]);
      if (!target) return { problem: `"${raw}": no row named ${internals[1]}` };
      return { paths: [target], notPaths: INTERFACE_FILES.map((f) => `${target}/${f}`), packages: [] };
    }
    const target = rowByName(term);
    if (target) return { paths: [target], notPaths: [], packages: [] };
    return { problem: `"${raw}" has no meaning: name a row, or add the word to WORDS in scripts/architecture-rules.mjs` };
  };

  const forbidden = [];
  for (const r of rows) {
    if (r.never.length === 0 || !exists(r.row, root)) continue;
    const terms = [];
    for (const term of r.never) {
      const t = resolve(r, term);
      if (t.problem) problems.push(`${at(r)}: never imports ${t.problem}`);
      else terms.push(t);
    }
    // One rule per row: a path that one term leaves out must not be one that another term forbids.
    for (const a of terms)
      for (const n of a.notPaths)
        for (const b of terms)
          if (b !== a && b.paths.some((p) => p !== 'src' && (n === p || n.startsWith(`${p}/`))))
            problems.push(`${at(r)}: the terms of the row contradict each other about ${n}`);
    const to = { paths: terms.flatMap((t) => t.paths), notPaths: terms.flatMap((t) => t.notPaths), packages: terms.flatMap((t) => t.packages) };
    const allowed = exceptions.filter((e) => e.from === r.row).flatMap((e) => e.to);
    const nested = rows.filter((o) => o.row !== r.row && o.row.startsWith(`${r.row}/`)).map((o) => o.row);
    const rule = {
      name: `never-imports:${r.row}`,
      comment: `${DOC} Modules table: ${r.row} never imports ${r.never.join(', ')}`,
      severity: 'error',
      from: { path: pathPattern(r.row, root) },
      to: { path: [...new Set([...to.paths.map((p) => (p === 'src' ? '^src/' : pathPattern(p, root))), ...to.packages.map(packagePattern)])] },
    };
    if (nested.length) rule.from.pathNot = nested.map((p) => pathPattern(p, root));
    const notPaths = [...new Set([...to.notPaths, ...allowed])].map((p) => pathPattern(p, root));
    if (notPaths.length) rule.to.pathNot = notPaths;
    forbidden.push(rule);
  }
  return { rows: rows.map(({ row, never }) => ({ row, never })), exceptions, forbidden, problems };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const result = architectureRules();
  if (process.argv.includes('--json')) {
    // The problems travel with the rules: .dependency-cruiser.cjs refuses them, check-architecture reports them.
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(0);
  }
  console.log(`${result.rows.length} rows in the Modules table of ${DOC}, ${result.forbidden.length} with a "never imports" rule:`);
  for (const rule of result.forbidden) {
    console.log(`\n${rule.name}\n  from ${rule.from.path}${rule.from.pathNot ? ` except ${rule.from.pathNot.join(' ')}` : ''}`);
    console.log(`  never to ${rule.to.path.join(' ')}${rule.to.pathNot ? `\n  except to ${rule.to.pathNot.join(' ')}` : ''}`);
  }
  console.log(`\nexceptions written in ${DOC}:`);
  for (const e of result.exceptions) console.log(`  ${e.text}  ->  ${e.from} may import ${e.to.join(', ')}`);
  if (result.problems.length) {
    for (const p of result.problems) console.error(`architecture: ${p}`);
    console.error(`architecture: ${result.problems.length} disagreement(s) between ${DOC} and the tree`);
    process.exit(1);
  }
}
