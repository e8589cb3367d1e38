import type { TypeRef } from '../tosca/model.js';
import type { EdgeKind } from './model.js';

/** Canonical names Kaidu acts on, across TOSCA 1.3, the 2.0 simple profile and the Kaidu profile. */
export const HOST_TYPE = 'kaidu:Host';
const HOSTED_ON = ['kaidu:HostedOn', 'tosca:HostedOn', 'tosca.relationships.HostedOn'];
const CONNECTS_TO = ['kaidu:ConnectsTo', 'tosca:ConnectsTo', 'tosca.relationships.ConnectsTo'];
const ATTACHES_TO = ['kaidu:AttachesTo', 'tosca:AttachesTo', 'tosca.relationships.AttachesTo'];
export const PLACEMENT_POLICY = 'kaidu:Placement';
export const SPREAD_POLICY = 'kaidu:Spread';

export function isA(ref: TypeRef, type: string): boolean {
  return ref.type === type || ref.types.includes(type);
}

export function edgeKind(relationship: TypeRef): EdgeKind {
  const has = (names: string[]) => names.some((n) => isA(relationship, n));
  if (has(HOSTED_ON)) return 'host';
  if (has(CONNECTS_TO)) return 'connects';
  if (has(ATTACHES_TO)) return 'attaches';
  return 'depends';
}
