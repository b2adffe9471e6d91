// dependency-cruiser rules for src/. The "never imports" rules are not written here: they are
// generated from the Modules table of docs/architecture.md by scripts/architecture-rules.mjs (one
// rule per row), so the table and the check cannot drift apart. A table that disagrees with the
// tree (a row naming a missing folder, a folder without a row, a word with no meaning) stops
// dependency-cruiser with the reason.
//
// Cycles between the table's folders are checked by scripts/check-architecture.mjs on the same
// cruise: dependency-cruiser's own folder scope works on directories, not on the table's rows.
// `npm run lint:deps` runs both.
const { execFileSync } = require('node:child_process');
const path = require('node:path');

function tableRules() {
  const out = execFileSync(process.execPath, [path.join(__dirname, 'scripts/architecture-rules.mjs'), '--json'], {
    cwd: __dirname,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const { forbidden, problems } = JSON.parse(out);
  // scripts/check-architecture.mjs reports the problems itself, with the violations of the rows that do exist.
  if (problems.length && process.env.ARCHITECTURE_REPORT_PROBLEMS !== '1') {
    throw new Error(`docs/architecture.md and the tree disagree:\n${problems.join('\n')}`);
  }
  return forbidden;
}

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...tableRules(),
    {
      name: 'no-orphans',
      comment: 'A module in src/ that imports nothing and that nothing imports is dead code (or a file left behind by a move).',
      severity: 'error',
      from: { orphan: true, path: '^src/', pathNot: '\\.d\\.ts$' },
      to: {},
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that does not resolve cannot be checked against the table.',
      severity: 'error',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // `import type` counts: it still ties one folder to the other.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
