import type { Logger } from 'pino';
import type { CommandRunner } from '../delegates/types.js';
import type { PluginSpec } from '../repository/settings.js';
import type { DelegateSelector } from './apply.js';
import { builtinRegistry, loadPlugins, SystemCommandRunner } from '../delegates/index.js';

export interface HostRuntime {
  delegates: DelegateSelector;
  runner: CommandRunner;
}

/** The delegates and command runner one host applies with: the built-ins plus kaidu.yaml's plugins. */
export async function createHostRuntime(opts: { dataDir: string; logger: Logger; repoRoot?: string; plugins?: PluginSpec[]; advertiseAddress?: string }): Promise<HostRuntime> {
  const runner = new SystemCommandRunner();
  const registry = builtinRegistry({ dataDir: opts.dataDir, runner, ...(opts.advertiseAddress ? { advertiseAddress: opts.advertiseAddress } : {}) });
  if (opts.plugins?.length) await loadPlugins(registry, opts.plugins, { baseDir: opts.repoRoot ?? process.cwd(), logger: opts.logger });
  return { delegates: registry, runner };
}
