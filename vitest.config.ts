import { relative } from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * End-to-end files (real agents, git servers, child processes) that take tens of seconds each.
 * They start first, so that on 2 workers they overlap with the many short files instead of
 * being left alone at the end of the run; on a fresh clone vitest has no timings to go by.
 */
const SLOW_FIRST = ['test/delegates/vm-agent.test.ts', 'test/agent/agent.test.ts', 'test/git/hub-remote.test.ts', 'test/hooks/', 'test/agent/', 'test/git/hub-', 'test/delegates/process', 'test/cli/'];

class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification) => {
      const path = relative(f.project.config.root, f.moduleId).split('\\').join('/');
      const i = SLOW_FIRST.findIndex((p) => path.startsWith(p));
      return i < 0 ? SLOW_FIRST.length : i;
    };
    // A stable sort: within a rank, vitest's own order (failed first, then longest) stays.
    return sorted.map((f, i) => ({ f, i, r: rank(f) })).sort((a, b) => a.r - b.r || a.i - b.i).map((x) => x.f);
  }
}

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Outer limits only: tests wait for events, and a loaded 2-core machine stretches everything.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // Real processes, sockets and git servers: keep parallelism modest on a 2-core machine.
    maxWorkers: 2,
    sequence: { sequencer: SlowFirstSequencer },
  },
});
