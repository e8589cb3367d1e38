import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { KaiduError } from '../errors/kaidu-error.js';
import { runChecked } from './command-runner.js';
import type { Delegate, DelegateContext, DelegateResult, InspectResult } from './types.js';

/** True when nothing holds the port: proven by binding it for a moment. */
export function portIsFree(port: number, protocol: 'tcp' | 'udp' = 'tcp'): Promise<boolean> {
  return new Promise((resolve) => {
    if (protocol === 'udp') {
      const s = createSocket('udp4');
      s.once('error', () => resolve(false));
      s.bind(port, '0.0.0.0', () => s.close(() => resolve(true)));
      return;
    }
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '0.0.0.0', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/**
 * A reserved TCP/UDP port: fixed, or the first free one of `range` that no other node of this host
 * holds; kept across passes while it stays free; optionally opened in firewalld.
 *
 * Its discovered `address` is where other hosts reach it (ConnectsTo's `<PREFIX>_HOST`), and what
 * a process that binds to it listens on: the node's `address` property, else the address this
 * host advertises (the agent's `--address`), else 127.0.0.1 (both ends on one machine).
 */
export class PortDelegate implements Delegate {
  readonly name = 'port';
  readonly handles = ['kaidu:Port'];

  /** `advertise`: this host's address as other hosts reach it (an IP literal, checked by the caller). */
  constructor(private readonly opts: { advertise?: string } = {}) {}

  private protocol(ctx: DelegateContext): 'tcp' | 'udp' {
    return ctx.node.properties.protocol === 'udp' ? 'udp' : 'tcp';
  }

  private address(ctx: DelegateContext): string {
    const given = ctx.node.properties.address;
    return typeof given === 'string' ? given : (this.opts.advertise ?? '127.0.0.1');
  }

  private async allocate(ctx: DelegateContext): Promise<number> {
    const proto = this.protocol(ctx);
    const fixed = ctx.node.properties.port;
    if (typeof fixed === 'number') {
      if (ctx.reservedPorts.has(fixed)) throw new KaiduError('E_PORT_IN_USE', `${ctx.node.id}: port ${fixed}/${proto} is already reserved by another node on ${ctx.host}`);
      const mine = ctx.previous?.attributes.port === fixed;
      if (!mine && !(await portIsFree(fixed, proto))) {
        throw new KaiduError('E_PORT_IN_USE', `${ctx.node.id}: port ${fixed}/${proto} is already in use by another program on ${ctx.host}`, { hint: 'free it, or leave `port` out to have one allocated from `range`' });
      }
      return fixed;
    }
    const prev = ctx.previous?.attributes.port;
    const range = Array.isArray(ctx.node.properties.range) ? ctx.node.properties.range : [20000, 29999];
    const lo = typeof range[0] === 'number' ? range[0] : 20000;
    const hi = typeof range[1] === 'number' ? range[1] : 65535;
    // Keep the port a node already has: the things that connect to it need not change.
    if (typeof prev === 'number' && prev >= lo && prev <= hi && !ctx.reservedPorts.has(prev)) return prev;
    for (let p = lo; p <= hi; p++) {
      if (ctx.reservedPorts.has(p)) continue;
      if (await portIsFree(p, proto)) return p;
    }
    throw new KaiduError('E_PORT_IN_USE', `${ctx.node.id}: no free ${proto} port in ${lo}-${hi}`);
  }

  private async firewall(ctx: DelegateContext, port: number, add: boolean): Promise<void> {
    const zone = typeof ctx.node.properties.zone === 'string' ? [`--zone=${ctx.node.properties.zone}`] : [];
    const spec = `${port}/${this.protocol(ctx)}`;
    for (const permanent of [[], ['--permanent']]) {
      await runChecked(ctx.runner, { argv: ['firewall-cmd', ...zone, ...permanent, add ? `--add-port=${spec}` : `--remove-port=${spec}`] });
    }
  }

  async create(ctx: DelegateContext): Promise<DelegateResult> {
    const port = await this.allocate(ctx);
    if (ctx.node.properties.expose === true) await this.firewall(ctx, port, true);
    return { attributes: { port, address: this.address(ctx), protocol: this.protocol(ctx) } };
  }

  async update(ctx: DelegateContext): Promise<DelegateResult> {
    const before = ctx.previous?.attributes.port;
    const wasExposed = ctx.previous?.properties.expose === true;
    const result = await this.create({ ...ctx, node: { ...ctx.node, properties: { ...ctx.node.properties, expose: false } } });
    const port = result.attributes.port as number;
    if (wasExposed && typeof before === 'number' && (before !== port || ctx.node.properties.expose !== true)) await this.firewall({ ...ctx, node: { ...ctx.node, properties: ctx.previous!.properties } }, before, false);
    if (ctx.node.properties.expose === true && (!wasExposed || before !== port)) await this.firewall(ctx, port, true);
    return result;
  }

  async delete(ctx: DelegateContext): Promise<void> {
    const port = ctx.previous?.attributes.port;
    if (ctx.previous?.properties.expose === true && typeof port === 'number') await this.firewall({ ...ctx, node: { ...ctx.node, properties: ctx.previous.properties } }, port, false);
  }

  async inspect(ctx: DelegateContext): Promise<InspectResult> {
    return { exists: typeof ctx.previous?.attributes.port === 'number', status: 'running', attributes: ctx.previous?.attributes ?? {} };
  }
}
