#!/usr/bin/env node
// Builds the operator console (src/console) into dist/console with esbuild: hashed file
// names under assets/, an index.html that references them (no inline script or style), and
// manifest.json, the list of the only files the service serves (src/api/console-routes.ts).
//
//   node scripts/build-console.mjs [outDir]     default: dist/console
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Builds the console into `outDir` (emptied first); resolves the manifest and the gzipped size. */
export async function buildConsole(outDir = path.join(ROOT, 'dist', 'console')) {
  fs.rmSync(outDir, { recursive: true, force: true });
  const assetsDir = path.join(outDir, 'assets');
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: { app: 'src/console/main.ts', style: 'src/console/style.css' },
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    platform: 'browser',
    outdir: assetsDir,
    entryNames: '[name].[hash]',
    assetNames: '[name].[hash]',
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const assets = Object.keys(result.metafile.outputs).map((file) => path.relative(outDir, path.resolve(ROOT, file)).split(path.sep).join('/'));
  const script = assets.find((a) => a.endsWith('.js'));
  const style = assets.find((a) => a.endsWith('.css'));
  if (!script || !style) throw new Error(`console build: expected a script and a stylesheet, got ${assets.join(', ')}`);
  const index = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rendercache console</title>
<link rel="stylesheet" href="/console/${style}">
<script type="module" src="/console/${script}"></script>
</head>
<body>
<div id="app"><noscript>The rendercache console needs JavaScript.</noscript></div>
</body>
</html>
`;
  fs.writeFileSync(path.join(outDir, 'index.html'), index);
  const manifest = { index: 'index.html', assets };
  fs.writeFileSync(path.join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const gzipBytes = assets.reduce((sum, a) => sum + gzipSync(fs.readFileSync(path.join(outDir, a))).length, 0) + gzipSync(index).length;
  return { outDir, manifest, gzipBytes };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { outDir, manifest, gzipBytes } = await buildConsole(process.argv[2] ? path.resolve(process.argv[2]) : undefined);
  console.log(`console built in ${path.relative(ROOT, outDir) || outDir}: ${manifest.assets.join(', ')} (${(gzipBytes / 1024).toFixed(1)} KiB gzipped)`);
}
