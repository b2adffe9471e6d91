import { spawn } from 'node:child_process';
import path from 'node:path';

const CLI = path.resolve('src/cli/main.ts');

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI as a child process (`node --import tsx src/cli/main.ts …`), asynchronously: the
 * service it calls runs in this process and must go on answering. stdout and stderr are pipes,
 * so the CLI sees no TTY.
 */
export function runCli(args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 60_000): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
      env: { ...process.env, RENDERCACHE_URL: undefined, RENDERCACHE_TOKEN: undefined, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** No stack trace in what the CLI printed. */
export const hasStack = (text: string) => /\n\s+at /.test(text);
