/**
 * `kaidu plan` of a working tree, service by service, with each service's share of the plan kept
 * on disk (service-plan-store.ts), so a plan after a one-file change compiles and plans that one
 * service and reads one small cache file for each other service.
 *
 * A service's share (its actions on every host, its problems, its placement) depends on: the files
 * its compile read, the folders it listed, the files its nodes use, its own state files on every
 * host, the machines of every service merged (a host's address reaches `get_attribute`), its
 * inputs and this build of Kaidu. An entry records all of them and is used only when each still
 * holds; the plan assembled from shares is the plan `plan()` computes on the whole topology (the
 * test compares them byte for byte). Requirements and attribute reads stay inside a service, so
 * each action's wave is its level within its own service's share on that host.
 *
 * Anything this does not model (a dependency cycle within a host, a linked artifact, two files of
 * one service name) returns undefined: the caller plans the whole topology instead.
 */
import { createHash } from 'node:crypto';
import type { Diagnostic } from '../tosca/diagnostic.js';
import type { CompiledService, SourceReader } from '../tosca/model.js';
import type { CompileStore } from '../repository/load.js';
import type { StateStore } from '../state/load.js';
import type { ParsedState } from '../state/parse.js';
import type { ServiceState, StateSnapshot } from '../state/model.js';
import { emptySummary, PLAN_SCHEMA, type Action, type ActionKind, type HostPlan, type Plan } from '../plan/model.js';
import { buildTopology, hostsDeclaredIn, mergeDeclaredHosts, placedFragment, type DeclaredHost } from '../topology/build.js';
import { isA } from '../topology/kinds.js';
import { nodeList, placementOf } from '../topology/lookup.js';
import type { NodeInstance, Topology } from '../topology/model.js';
import { portClashes } from '../topology/port-clash.js';
import { podHostingProblems } from '../topology/pod-hosting.js';
import { checkHostOption } from './host-option.js';
import { ServicePlanStore } from './service-plan-store.js';
import { DiskKeyedStore } from './keyed-store.js';
import type { RepoSettings } from '../repository/settings.js';
import { listStateFiles, type StateFileRef, type StateFiles } from './state-files.js';
import { sourceDigest } from './source-digest.js';
import { compareNames } from '../tosca/name-order.js';

type ParsedSettings = { settings: RepoSettings; diagnostics: Diagnostic[] };

/** One service's actions on one host: delete levels, then levels of what it wants (each a wave once merged). */
interface HostShare {
  deletes: Action[][];
  desired: Action[][];
}

/** What a text plan needs of a host share: counts, and the actions that change something. */
interface ShareDigest {
  summary: Record<ActionKind, number>;
  deleteLevels: number;
  desiredLevels: number;
  /** [delete level? , level index, action] for every action that is not a noop. */
  changed: Array<[isDelete: boolean, level: number, action: Action]>;
}

/** A Port instance, as much as the clash check across services reads. */
type PortInstance = Pick<NodeInstance, 'id' | 'isHost' | 'host'> & { template: Pick<NodeInstance['template'], 'type' | 'types' | 'properties' | 'source'> };

export interface ShareHeader {
  kind: 'service' | 'types' | 'failed';
  files: Array<[string, string | null]>;
  dirs: Array<[string, string]>;
  /** Files the nodes use (scripts, config templates), with their ids. */
  artifacts: Array<[string, string | null]>;
  /** The service's state files on every host (path, blob id), in the order `loadState` reads them. */
  state: Array<[string, string]>;
  /** How many nodes those state files record (a plan against a base revision counts them). */
  stateNodes: number;
  /** Digest of every service's machines merged (kind `service` only). */
  hostsDigest: string;
  declared: DeclaredHost[];
  compileDiagnostics: Diagnostic[];
  fragmentDiagnostics: Diagnostic[];
  cycles: Diagnostic[];
  ports: PortInstance[];
  hosts: Record<string, ShareDigest>;
}

type HostShares = Record<string, HostShare>;

/** Every action of the service, by host, and where its instances run. */
interface ShareBody {
  hosts: HostShares;
  placement: Array<[string, string]>;
}

const isHeader = (v: unknown): boolean => {
  const h = v as Partial<ShareHeader> | null;
  return Boolean(h) && typeof h!.kind === 'string' && Array.isArray(h!.files) && Array.isArray(h!.dirs) && Array.isArray(h!.artifacts) && Array.isArray(h!.state) && typeof h!.stateNodes === 'number' && typeof h!.hosts === 'object' && h!.hosts !== null;
};

export function openSharesStore(dir: string, buildId: string): { shares: ServicePlanStore<ShareHeader, ShareBody>; settings: DiskKeyedStore<ParsedSettings> } {
  return {
    shares: new ServicePlanStore<ShareHeader, ShareBody>(dir, buildId, isHeader),
    settings: new DiskKeyedStore<ParsedSettings>(dir, 'settings', buildId, (v) => Boolean(v) && typeof (v as ParsedSettings).settings === 'object' && Array.isArray((v as ParsedSettings).diagnostics)),
  };
}

export interface ServicePlansInput {
  /** The working tree (ids from stat data: cheap `fileId`). */
  reader: SourceReader;
  profiles: SourceReader;
  inputs?: Record<string, unknown>;
  host?: string;
  revision: string;
  compileStore: CompileStore;
  stateStore: StateStore;
  shares: ServicePlanStore<ShareHeader, ShareBody>;
  settings: DiskKeyedStore<ParsedSettings>;
  /** Only what a text plan shows: unchanged actions are counted, not loaded (their waves stay, emptied). */
  changesOnly?: boolean;
  /**
   * The state planned against (default: `<stateDir>/` of `reader`): the hosts' state branches, or
   * with `base` the state at the base revision.
   */
  state?: (stateDir: string) => Promise<StateFiles>;
  /**
   * With `state` from a base revision: the head's own state, whose problems a plan reports (as the
   * whole-topology load does: it reads the head's state, then plans against the base's).
   */
  reportedState?: (stateDir: string) => Promise<StateFiles>;
  /** A plan against another revision's state: that revision, and the ids the base's part of the digest is made of. */
  base?: { revision: string; ids: Map<string, string | null> };
  /** Compute `sourceDigest` (a saved plan). */
  digest?: boolean;
  onStats?: (stats: ServicePlanStats) => void;
}

/** What the cache did in one run (`KAIDU_CACHE_STATS=1` prints it; tests read it). */
export interface ServicePlanStats {
  services: number;
  /** Services whose stored share was used as it was. */
  reused: number;
}

/** One service file's part in this run. */
interface Slot {
  name: string;
  path: string;
  key: string;
  header: ShareHeader;
  body?: ShareBody;
  stored?: { body(): Promise<ShareBody | undefined> };
  /** The compiled service (kind `service`), when it had to be compiled or planned in this run. */
  svc?: CompiledService;
}

class Unsupported extends Error {}

const NO_BODY: ShareBody = { hosts: {}, placement: [] };

/** The planner, loaded when a service is planned at all (it brings the expression evaluator and its YAML library). */
const planner = async () => (await import('../plan/plan.js')).plan;

const byName = compareNames;

/** kaidu.yaml parsed once per content, by its id (the YAML library is loaded only to parse it). */
export async function settingsOf(reader: SourceReader, store: DiskKeyedStore<ParsedSettings>, id?: string | null): Promise<ParsedSettings> {
  const key = String(id === undefined ? ((reader.fileId ? await reader.fileId('kaidu.yaml') : (await reader.readFile('kaidu.yaml'))?.id) ?? null) : id);
  const known = await store.get(key);
  if (known) return known;
  const file = await reader.readFile('kaidu.yaml');
  const parsed = (await import('../repository/settings.js')).parseSettings(file?.text);
  if (String(file?.id ?? null) === key) store.set(key, parsed);
  return parsed;
}

/** The plan, or undefined when the repository needs the whole-topology planner (see the module comment). */
export async function planByService(input: ServicePlansInput): Promise<Plan | undefined> {
  try {
    return await planShares(input);
  } catch (err) {
    if (err instanceof Unsupported) return undefined;
    throw err;
  }
}

async function planShares(input: ServicePlansInput): Promise<Plan> {
  const { reader } = input;
  const { listServiceFiles, serviceName } = await import('../repository/service-files.js');
  // Each file's id looked up once per run (a service file is both a key and a file its compile read).
  const ids = new Map<string, Promise<string | null>>();
  const lookup = async (path: string) => (reader.fileId ? await reader.fileId(path) : (await reader.readFile(path))?.id) ?? null;
  const idOf = (path: string) => ids.get(path) ?? (ids.set(path, lookup(path)), ids.get(path)!);
  const listingOf = (entries: Array<{ name: string; kind: string }>) => entries.map((e) => `${e.kind}:${e.name}`).sort().join('\n');

  const settingsId = await idOf('kaidu.yaml');
  const parsedSettings = await settingsOf(reader, input.settings, settingsId);
  const { settings } = parsedSettings;
  const diagnostics = [...parsedSettings.diagnostics];

  // State files as `loadState` reads them: hosts, then files, each by name (each from its host's state branch, or the templates).
  const planState = await (input.state ?? ((dir: string) => listStateFiles(reader, dir)))(settings.stateDir);
  const stateFiles = planState.files;
  const stateIds = new Map<StateFileRef, string | null>();
  const stateIdOf = async (f: StateFileRef) => {
    if (!stateIds.has(f)) stateIds.set(f, f.reader === reader ? await idOf(f.path) : ((f.reader.fileId ? await f.reader.fileId(f.path) : (await f.reader.readFile(f.path))?.id) ?? null));
    return stateIds.get(f)!;
  };
  const stateOf = async (service: string): Promise<Array<[string, string | null]>> => {
    const out: Array<[string, string | null]> = [];
    for (const f of stateFiles) if (f.service === service) out.push([f.path, await stateIdOf(f)]);
    return out;
  };
  const sameList = (a: ReadonlyArray<readonly [string, string | null]>, b: ReadonlyArray<readonly [string, string | null]>) => a.length === b.length && a.every(([p, id], i) => b[i]![0] === p && b[i]![1] === id);

  /** An entry still holds when every id it recorded is the current one (the machines are checked once all are known). */
  const stillHolds = async (h: ShareHeader, name: string): Promise<boolean> => {
    for (const [path, id] of h.files) if ((await idOf(path)) !== id) return false;
    for (const [dir, listing] of h.dirs) if (listingOf(await reader.listDir(dir)) !== listing) return false;
    for (const [path, id] of h.artifacts) if ((await idOf(path)) !== id || (await reader.isSymlink?.(path))) return false;
    return h.kind === 'types' || sameList(h.state, await stateOf(name));
  };

  // 1. Every service file: its stored share when it still holds, else compiled (through the compile store).
  const slots: Slot[] = [];
  const names = new Set<string>();
  let reused = 0;
  let loadService: typeof import('../repository/load.js').loadService | undefined;
  const compile = async (slot: Pick<Slot, 'path' | 'name'>, inputs: Record<string, unknown>) => {
    loadService ??= (await import('../repository/load.js')).loadService;
    const loaded = await loadService(reader, slot.path, slot.name, inputs, { profiles: input.profiles, store: input.compileStore });
    return { result: loaded.result, read: loaded.read! };
  };
  const inputsOf = new Map<string, Record<string, unknown>>();
  for (const path of await listServiceFiles(reader, settings)) {
    const name = serviceName(path, settings);
    if (names.has(name)) throw new Unsupported(`two files of service ${name}`);
    names.add(name);
    const inputs = { ...(settings.inputs[name] ?? {}), ...(input.inputs ?? {}) };
    inputsOf.set(name, inputs);
    const key = `${path}\0${JSON.stringify(inputs)}\0${await idOf(path)}`;
    const stored = await input.shares.get(key);
    if (stored && (await stillHolds(stored.header, name))) {
      slots.push({ name, path, key, header: stored.header, stored });
      reused++;
      continue;
    }
    const { result, read } = await compile({ path, name }, inputs);
    const kind = result.typesOnly ? 'types' : !result.service || hasErrorIn(result.diagnostics) ? 'failed' : 'service';
    const svc = kind === 'service' ? (result.service!.name === name ? result.service! : { ...result.service!, name }) : undefined;
    slots.push({ name, path, key, svc, header: { ...emptyHeader(kind), files: read.files, dirs: read.dirs, compileDiagnostics: result.diagnostics, declared: svc ? hostsDeclaredIn(svc) : [] } });
  }

  // 2. The machines, merged across every service (a share placed against others is planned again).
  const services = slots.filter((s) => s.header.kind === 'service').sort((a, b) => byName(a.name, b.name));
  const hostDiagnostics: Diagnostic[] = [];
  const hosts = mergeDeclaredHosts(services.map((s) => s.header.declared), hostDiagnostics);
  const hostsDigest = createHash('sha256').update(JSON.stringify(hosts)).digest('hex');
  for (const s of services) {
    if (s.svc || s.header.hostsDigest === hostsDigest) continue;
    const { result, read } = await compile(s, inputsOf.get(s.name)!);
    if (result.typesOnly || !result.service || hasErrorIn(result.diagnostics)) throw new Unsupported('a stored service no longer compiles');
    s.svc = result.service.name === s.name ? result.service : { ...result.service, name: s.name };
    s.header = { ...emptyHeader('service'), files: read.files, dirs: read.dirs, compileDiagnostics: result.diagnostics, declared: hostsDeclaredIn(s.svc) };
    s.stored = undefined;
    reused--;
  }

  // 3. State of the services planned now, of failed ones compiled now, and of services no template names (their nodes are deleted).
  const covered = new Set(slots.filter((s) => s.stored && s.header.kind !== 'types').map((s) => s.name));
  const planned = new Set(slots.filter((s) => s.header.kind === 'service').map((s) => s.name));
  const failed = new Set(slots.filter((s) => s.header.kind === 'failed').map((s) => s.name));
  const parsed = new Map<StateFileRef, ParsedState>();
  let parse: typeof import('../state/parse.js').parseServiceState | undefined;
  const parseState = async (f: StateFileRef): Promise<ParsedState | undefined> => {
    const id = await stateIdOf(f);
    const known = id ? await input.stateStore.get(f.path, id) : undefined;
    if (known) return known;
    const file = await f.reader.readFile(f.path);
    if (!file) return undefined;
    parse ??= (await import('../state/parse.js')).parseServiceState;
    const p = parse(file.text, f.path, { host: f.host, service: f.service });
    input.stateStore.set(f.path, file.id, p);
    stateIds.set(f, file.id);
    return p;
  };
  for (const f of stateFiles) {
    if (covered.has(f.service)) continue;
    const p = await parseState(f);
    if (p) parsed.set(f, p);
  }
  let stateDiagnostics: Diagnostic[] = [];
  const snapshotHosts = new Set<string>();
  for (const f of stateFiles) {
    if (covered.has(f.service)) snapshotHosts.add(f.host);
    const p = parsed.get(f);
    if (!p) continue;
    stateDiagnostics.push(...p.diagnostics);
    if (p.state) snapshotHosts.add(f.host);
  }
  // Planned against a base's state: the problems reported are those of the head's own state files.
  const reported = input.reportedState ? await input.reportedState(settings.stateDir) : undefined;
  if (reported) {
    stateDiagnostics = [];
    const clean = new Set(slots.filter((s) => s.stored && s.header.kind !== 'types').flatMap((s) => s.header.state.map(([p, id]) => `${p}\0${id}`)));
    for (const f of reported.files) {
      const id = (f.reader.fileId ? await f.reader.fileId(f.path) : (await f.reader.readFile(f.path))?.id) ?? null;
      // a file the base has too, in a share stored clean, has no problems to report
      if (id && clean.has(`${f.path}\0${id}`)) continue;
      stateDiagnostics.push(...((await parseState(f)) ?? { diagnostics: [] }).diagnostics);
    }
  }
  const stateFor = (service: string) => {
    const snapshot: StateSnapshot = {};
    const frozen: Record<string, string[]> = {};
    let clean = true;
    let nodes = 0;
    for (const f of stateFiles) {
      if (f.service !== service) continue;
      const p = parsed.get(f);
      if (!p) {
        clean = false;
        continue;
      }
      if (p.diagnostics.length > 0 || !p.state) clean = false;
      if (p.state) {
        (snapshot[f.host] ??= {})[service] = p.state as ServiceState;
        nodes += Object.keys(p.state.nodes).length;
      } else (frozen[f.host] ??= []).push(service);
    }
    return { snapshot, frozen, clean, nodes };
  };

  // 4. Plan each service that has no share yet, alone, against every service's machines.
  for (const s of slots) {
    if (s.stored || s.header.kind !== 'service') {
      if (!s.stored && s.header.kind === 'failed') {
        s.header.state = (await stateOf(s.name)) as Array<[string, string]>;
        const { clean, nodes } = stateFor(s.name);
        s.header.stateNodes = nodes;
        if (clean && s.header.state.every(([, id]) => id)) input.shares.set(s.key, s.header, NO_BODY);
      } else if (!s.stored && s.header.kind === 'types') input.shares.set(s.key, s.header, NO_BODY);
      continue;
    }
    const svc = s.svc!;
    const topology = buildTopology([svc], { hosts });
    const fragment = placedFragment(svc)!;
    const fileIds: Record<string, string> = {};
    const artifacts = new Map<string, string | null>();
    const { filesOf } = await import('../plan/plan.js');
    for (const n of nodeList(topology)) {
      for (const f of filesOf(n)) {
        if (artifacts.has(f)) continue;
        if (await reader.isSymlink?.(f)) throw new Unsupported('a linked artifact is reported by the whole-topology planner');
        const id = await idOf(f);
        artifacts.set(f, id);
        if (id) fileIds[f] = id;
      }
    }
    const { snapshot, frozen, clean, nodes } = stateFor(s.name);
    const shares = sharesOf((await planner())(topology, snapshot, { revision: input.revision, fileIds, frozen }));
    const body: ShareBody = { hosts: shares, placement: Object.entries(placementOf(topology)) };
    s.body = body;
    s.header = {
      ...s.header,
      kind: 'service',
      artifacts: [...artifacts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      state: (await stateOf(s.name)) as Array<[string, string]>,
      stateNodes: nodes,
      hostsDigest,
      // What the whole-topology build adds per node (pods that cannot host a node) is the service's own.
      fragmentDiagnostics: [...fragment.diagnostics, ...podHostingProblems(topology.nodes, topology.edges)],
      cycles: fragment.cycles,
      ports: portsOf(topology),
      hosts: Object.fromEntries(Object.entries(shares).map(([h, share]) => [h, digestOf(share)])),
    };
    if (clean && s.header.state.every(([, id]) => id)) input.shares.set(s.key, s.header, body);
  }

  // 5. Nodes recorded for services the templates no longer name: deleted.
  const orphans = [...new Set(stateFiles.map((f) => f.service))].filter((n) => !planned.has(n) && !failed.has(n));
  const orphanShares: HostShares[] = [];
  const bare: Topology = { services: {}, hosts, nodes: {}, edges: [], diagnostics: [] };
  for (const name of orphans) {
    const { snapshot, frozen } = stateFor(name);
    orphanShares.push(sharesOf((await planner())(bare, snapshot, { revision: input.revision, frozen })));
  }

  // 6. Assemble, in the order the whole-topology planner gives.
  const allDiagnostics = [...diagnostics, ...slots.flatMap((s) => s.header.compileDiagnostics), ...stateDiagnostics];
  const hostNames = [...new Set([...Object.keys(hosts), ...snapshotHosts])];
  checkHostOption(input.host, hostNames, allDiagnostics);
  const wanted = input.host ? [input.host] : hostNames.sort();
  const full = !input.changesOnly;
  const bodies: HostShares[] = [];
  const digests: Array<Record<string, ShareDigest>> = [];
  const placement: Array<[string, string]> = [];
  for (const s of services) {
    if (full) {
      const b = s.body ?? (await s.stored!.body());
      if (!b || typeof b.hosts !== 'object' || !Array.isArray(b.placement)) throw new Unsupported('a damaged share body');
      bodies.push(b.hosts);
      placement.push(...b.placement);
    } else digests.push(s.header.hosts);
  }
  for (const b of orphanShares) full ? bodies.push(b) : digests.push(Object.fromEntries(Object.entries(b).map(([h, share]) => [h, digestOf(share)])));
  const hostPlans: HostPlan[] = wanted.map((host) => (full ? mergeShares(host, bodies.map((b) => b[host]).filter((x): x is HostShare => Boolean(x))) : mergeDigests(host, digests.map((d) => d[host]).filter((x): x is ShareDigest => Boolean(x)))));
  const summary = emptySummary();
  for (const h of hostPlans) for (const k of Object.keys(summary) as ActionKind[]) summary[k] += h.summary[k];
  const topologyDiagnostics = [
    ...hostDiagnostics,
    ...services.flatMap((s) => s.header.fragmentDiagnostics),
    ...services.flatMap((s) => s.header.cycles),
    ...portClashes(services.flatMap((s) => s.header.ports) as NodeInstance[]),
  ];
  const plan: Plan = {
    schema: PLAN_SCHEMA,
    revision: input.revision,
    ...(input.base ? { baseRevision: input.base.revision } : {}),
    hosts: hostPlans,
    diagnostics: [...allDiagnostics, ...topologyDiagnostics],
    summary,
    // (a text plan shows no placement: with `changesOnly` it is left empty)
    placement: Object.fromEntries(placement),
  };
  if (input.base) {
    // the base's state: its hosts with state, and its nodes (a stored share counted its service's when it was made)
    let nodes = 0;
    for (const name of new Set(stateFiles.map((f) => f.service))) nodes += covered.has(name) ? slots.find((s) => s.name === name)!.header.stateNodes : stateFor(name).nodes;
    plan.baseState = { hosts: snapshotHosts.size, nodes };
  }
  if (input.digest) {
    // Every file the whole-topology load reads, by id: settings, what each compile read, the files nodes use, state.
    const head = new Map<string, string | null>([['kaidu.yaml', settingsId]]);
    for (const s of slots) for (const [path, id] of s.header.files) head.set(path, id);
    for (const s of services) for (const [path, id] of s.header.artifacts) head.set(path, id);
    const stateIdsInto = async (into: Map<string, string | null>, files: readonly StateFileRef[]) => {
      for (const f of files) if (f.inTemplates) into.set(f.path, await stateIdOf(f));
    };
    const base = input.base ? new Map(input.base.ids) : undefined;
    await stateIdsInto(base ?? head, stateFiles);
    if (reported) await stateIdsInto(head, reported.files);
    for (const [host, commit] of planState.branches) head.set(`refs/heads/kaidu/state/${host}`, commit);
    plan.sourceDigest = sourceDigest({ head, ...(base ? { base } : {}), ...(input.inputs ? { inputs: input.inputs } : {}) });
  }
  input.onStats?.({ services: slots.length, reused });
  return plan;
}

function hasErrorIn(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

function emptyHeader(kind: ShareHeader['kind']): ShareHeader {
  return { kind, files: [], dirs: [], artifacts: [], state: [], stateNodes: 0, hostsDigest: '', declared: [], compileDiagnostics: [], fragmentDiagnostics: [], cycles: [], ports: [], hosts: {} };
}

/**
 * A one-service plan cut into host shares: its delete waves, then its other waves. A wave holding
 * an action that needs another of the same wave means a cycle (the planner put the nodes it could
 * not order last): only the whole-topology planner orders those.
 */
function sharesOf(p: Plan): HostShares {
  const out: HostShares = {};
  for (const h of p.hosts) {
    if (h.waves.length === 0) continue;
    const split = h.waves.findIndex((w) => w.some((a) => a.kind !== 'delete'));
    const deletes = split < 0 ? h.waves : h.waves.slice(0, split);
    const desired = split < 0 ? [] : h.waves.slice(split);
    const levelOf = new Map<string, number>();
    desired.forEach((w, i) => w.forEach((a) => levelOf.set(a.node, i)));
    desired.forEach((w, i) => w.forEach((a) => a.dependsOn.forEach((d) => {
      if ((levelOf.get(d) ?? -1) >= i) throw new Unsupported('a cycle within a host');
    })));
    const deleteLevel = new Map<string, number>();
    deletes.forEach((w, i) => w.forEach((a) => deleteLevel.set(a.node, i)));
    // a node is deleted before what it needed
    deletes.forEach((w, i) => w.forEach((a) => a.dependsOn.forEach((d) => {
      if (deleteLevel.has(d) && deleteLevel.get(d)! <= i) throw new Unsupported('a cycle among deletes');
    })));
    out[h.host] = { deletes, desired };
  }
  return out;
}

function digestOf(share: HostShare): ShareDigest {
  const summary = emptySummary();
  const changed: ShareDigest['changed'] = [];
  share.deletes.forEach((w, i) => w.forEach((a) => {
    summary[a.kind]++;
    changed.push([true, i, a]);
  }));
  share.desired.forEach((w, i) => w.forEach((a) => {
    summary[a.kind]++;
    if (a.kind !== 'noop') changed.push([false, i, a]);
  }));
  return { summary, deleteLevels: share.deletes.length, desiredLevels: share.desired.length, changed };
}

const byNode = (a: Action, b: Action) => compareNames(a.node, b.node);

function mergeShares(host: string, shares: readonly HostShare[]): HostPlan {
  const deletes: Action[][] = [];
  const desired: Action[][] = [];
  for (const s of shares) {
    s.deletes.forEach((w, i) => (deletes[i] ??= []).push(...w));
    s.desired.forEach((w, i) => (desired[i] ??= []).push(...w));
  }
  const waves = [...deletes, ...desired].map((w) => w.sort(byNode)).filter((w) => w.length > 0);
  const summary = emptySummary();
  for (const w of waves) for (const a of w) summary[a.kind]++;
  return { host, waves, summary };
}

/** Waves of changed actions only: a wave of unchanged actions stays, empty, so later waves keep their numbers. */
function mergeDigests(host: string, digests: readonly ShareDigest[]): HostPlan {
  const deleteLevels = Math.max(0, ...digests.map((d) => d.deleteLevels));
  const desiredLevels = Math.max(0, ...digests.map((d) => d.desiredLevels));
  const waves: Action[][] = Array.from({ length: deleteLevels + desiredLevels }, () => []);
  const summary = emptySummary();
  for (const d of digests) {
    for (const k of Object.keys(summary) as ActionKind[]) summary[k] += d.summary[k];
    for (const [isDelete, level, a] of d.changed) waves[isDelete ? level : deleteLevels + level]!.push(a);
  }
  for (const w of waves) w.sort(byNode);
  return { host, waves, summary };
}

function portsOf(topology: Topology): PortInstance[] {
  const out: PortInstance[] = [];
  for (const n of nodeList(topology)) {
    if (n.isHost || !n.host || !isA(n.template, 'kaidu:Port')) continue;
    const { type, types, properties, source } = n.template;
    out.push({ id: n.id, isHost: false, host: n.host, template: { type, types, properties: { port: properties.port ?? null, protocol: properties.protocol ?? null }, source } });
  }
  return out;
}
