import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { KaiduError } from '../errors/kaidu-error.js';
import { runChecked } from './command-runner.js';
import { insideOf, recordedInside, type NestedHost } from './nesting.js';
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

  /**
   * A Port hosted on a container is the port inside, published on the same port of the outer
   * host when the container was created (topology/published-ports.ts): proven by asking the runtime.
   */
  private async published(ctx: DelegateContext, inside: NestedHost): Promise<DelegateResult> {
    const fixed = ctx.node.properties.port;
    if (typeof fixed !== 'number') throw new KaiduError('E_DELEGATE', `${ctx.node.id}: a Port hosted on ${inside.description} needs a fixed \`port\`: the container publishes it when it is created`);
    if (!inside.published) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: ${inside.description} cannot publish ports`);
    const proto = this.protocol(ctx);
    const seen = await inside.published(ctx.runner, fixed, proto);
    if (!seen) throw new KaiduError('E_PORT_IN_USE', `${ctx.node.id}: ${inside.description} does not publish port ${fixed}/${proto}`, { hint: 'it was created before this Port was hosted on it; the next apply recreates it with the port' });
    if (ctx.reservedPorts.has(seen.port)) throw new KaiduError('E_PORT_IN_USE', `${ctx.node.id}: port ${seen.port}/${proto} is already reserved by another node on ${ctx.host}`);
    if (ctx.node.properties.expose === true) await this.firewall(ctx, seen.port, true);
    const loopback = !seen.address || seen.address === '0.0.0.0' || seen.address === '::' ? '127.0.0.1' : seen.address;
    return { attributes: { port: seen.port, address: this.explicitAddress(ctx) ?? loopback, protocol: proto, container_port: fixed, inside: inside.record } };
  }

  private explicitAddress(ctx: DelegateContext): string | undefined {
    return typeof ctx.node.properties.address === 'string' ? ctx.node.properties.address : undefined;
  }

  async create(ctx: DelegateContext): Promise<DelegateResult> {
    const inside = insideOf(ctx);
    if (inside) return this.published(ctx, inside);
    const port = await this.allocate(ctx);
    if (ctx.node.properties.expose === true) await this.firewall(ctx, port, true);
    return { attributes: { port, address: this.address(ctx), protocol: this.protocol(ctx) } };
  }

  async update(ctx: DelegateContext): Promise<DelegateResult> {
    if (insideOf(ctx) || recordedInside(ctx)) {
      await this.delete(ctx);
      return this.create(ctx);
    }
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
    const inside = recordedInside(ctx);
    const a = ctx.previous?.attributes;
    if (inside && typeof a?.container_port === 'number' && inside.published) {
      const s = await inside.state(ctx.runner);
      const seen = s === 'running' ? await inside.published(ctx.runner, a.container_port, a.protocol === 'udp' ? 'udp' : 'tcp') : undefined;
      return { exists: seen?.port === a.port, status: seen?.port === a.port ? 'running' : 'stopped', attributes: a };
    }
    return { exists: typeof ctx.previous?.attributes.port === 'number', status: 'running', attributes: ctx.previous?.attributes ?? {} };
  }
}
