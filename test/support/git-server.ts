/**
 * A git http-backend hub on 127.0.0.1 in a fresh temp folder, for tests: one call to start,
 * one to clean up (server closed, its CGI processes finished, folder removed).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBareRepo, startHubServer, type HubServer, type HubServerOptions, type PushNotice } from '../../src/git/hub-server.js';

export interface TestGitServer {
  server: HubServer;
  /** The temp folder; repositories live in `<dir>/repos`, scratch space anywhere else in it. */
  dir: string;
  root: string;
  /** Push notices the server saw, oldest first. */
  pushes: PushNotice[];
  /** Create `<root>/<name>` (bare, pushable) with an initial commit of `files`; its URL. */
  createRepo(name: string, files?: Record<string, string>, branch?: string): Promise<string>;
  cleanup(): Promise<void>;
}

export async function startTestGitServer(opts: Omit<HubServerOptions, 'root' | 'onPush'> = {}): Promise<TestGitServer> {
  const dir = await mkdtemp(join(tmpdir(), 'kaidu-git-test-'));
  const root = join(dir, 'repos');
  const pushes: PushNotice[] = [];
  const server = await startHubServer({ ...opts, root, onPush: (p) => pushes.push(p) });
  return {
    server,
    dir,
    root,
    pushes,
    async createRepo(name, files, branch) {
      await createBareRepo(root, name, { ...(files ? { files } : {}), ...(branch ? { branch } : {}) });
      return server.repoUrl(name);
    },
    async cleanup() {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
