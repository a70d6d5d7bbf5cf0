import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
/** The CLI as users start it (`npx stepwise` runs this file). */
export const CLI = join(__dirname, '..', '..', 'bin', 'stepwise.cjs');

/** Runs the real CLI process in `cwd`; resolves with its exit code and output whatever the code. DATABASE_URL is unset. */
export async function stepwise(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, DATABASE_URL: '' } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
