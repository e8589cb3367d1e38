import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';

const leftOver = new Set<string>();
let hooked = false;

/**
 * A fresh directory under the system's temp folder, removed when the test that made it ends (or,
 * made outside a test, when the test process exits): test runs must not fill /tmp.
 */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  } catch {
    leftOver.add(dir);
    if (!hooked) {
      hooked = true;
      process.once('exit', () => {
        for (const d of leftOver) rmSync(d, { recursive: true, force: true });
      });
    }
  }
  return dir;
}
