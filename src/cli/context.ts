/** What every command gets: where to write, and how to report its exit code. */
export interface CommandContext {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Exit codes (README): 0 ok, 1 errors found / failed, 2 bad usage, 3 changes (plan --detailed-exitcode uses 2). */
  setExitCode(code: number): void;
  /** Directory the command runs in (process.cwd() unless a test says otherwise). */
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
