/** The console build (scripts/build-console.mjs), typed for the tests: they build it before starting the service. */
export interface ConsoleBuild {
  outDir: string;
  manifest: { index: string; assets: string[] };
  gzipBytes: number;
}

/** Builds the console into dist/console, where the service reads it; the script is plain JavaScript (no types to import). */
export async function buildConsole(): Promise<ConsoleBuild> {
  const script = new URL('../../scripts/build-console.mjs', import.meta.url).href;
  const mod = (await import(script)) as { buildConsole: () => Promise<ConsoleBuild> };
  return mod.buildConsole();
}
