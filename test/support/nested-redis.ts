/**
 * What the nesting tests of the workloads that boot an OS (Nspawn machine, Distrobox) share: a
 * service hosting a Port, a Directory, a ConfigFile and a redis Process on the workload (and, on
 * request, a process that fails at once), its repository, and a PING to the redis.
 */
import { connect } from 'node:net';
import { serviceRepo, type ServiceRepo } from './service-repo.js';

export interface NestParts {
  /** A comment in the config file: changing it changes the file (and restarts the redis). */
  note?: string;
  /** With the nested nodes (default), or the hosting node alone. */
  nested?: boolean;
  /** With `bad`, a process that fails at once. */
  bad?: boolean;
}

/** The nodes hosted on the workload, as recorded with `inside`. */
export const NESTED_KEYS = ['data', 'conf', 'redis', 'port'];

const REDIS_CONF = 'port {{ port }}\nbind 127.0.0.1\nsave ""\nappendonly no\ndaemonize no\ndir {{ dir }}\n# {{ note }}\n';

/** A repository holding the redis config template (services/files/redis.tmpl); the service goes to services/nest.yaml. */
export function nestRepo(prefix: string): Promise<ServiceRepo> {
  return serviceRepo(prefix, { 'services/files/redis.tmpl': REDIS_CONF });
}

/**
 * The service: a kaidu:Host `box`, the workload `host` on it (`properties` as a YAML flow map),
 * and on the workload a redis serving `port` with its config and data in `dir`. With
 * `servesOutside`, the redis depends on the Port, so Kaidu waits until it accepts connections
 * there from the outer host: only where Kaidu's network is the workload's.
 */
export function nestService(host: { key: string; type: string; properties: string; servesOutside: boolean }, port: number, dir: string, { note = 'one', nested = true, bad = false }: NestParts): string {
  const on = host.key;
  return `tosca_definitions_version: tosca_2_0
service_template:
  node_templates:
    box: { type: kaidu:Host }
    ${on}:
      type: ${host.type}
      properties: ${host.properties}
      requirements: [ { host: box } ]
${
  nested
    ? `    port:
      type: kaidu:Port
      properties: { port: ${port} }
      requirements: [ { host: ${on} } ]
    data:
      type: kaidu:Directory
      properties: { path: ${dir}/data, mode: '0750', purge: true }
      requirements: [ { host: ${on} } ]
    conf:
      type: kaidu:ConfigFile
      properties: { path: ${dir}/redis.conf, template: services/files/redis.tmpl, variables: { port: ${port}, dir: ${dir}/data, note: ${note} } }
      requirements: [ { host: ${on} }, { dependency: data } ]
    redis:
      type: kaidu:Process
      properties: { command: [ redis-server, ${dir}/redis.conf ], stop_grace: 5 }
      requirements: [ { host: ${on} }, { dependency: conf }${host.servesOutside ? ', { dependency: port }' : ''} ]
`
    : ''
}${
  bad
    ? `    bad:
      type: kaidu:Process
      properties: { command: [ sh, -c, 'echo broken on purpose >&2; exit 3' ] }
      requirements: [ { host: ${on} } ]
`
    : ''
}`;
}

/** Sends PING to redis on 127.0.0.1:port; resolves its first line of answer. */
export function ping(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => s.write('PING\r\n'));
    let got = '';
    s.setTimeout(10_000, () => s.destroy(new Error('no answer')));
    s.on('data', (d) => {
      got += String(d);
      if (got.includes('\r\n')) {
        s.end();
        resolve(got.split('\r\n')[0]!);
      }
    });
    s.on('error', reject);
  });
}
