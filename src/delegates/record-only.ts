import type { Delegate } from './types.js';

/**
 * For nodes Kaidu describes but does not act on (a kaidu:Host, standard TOSCA nodes without
 * scripts): recorded as running, nothing done on the machine.
 */
export const recordOnly: Delegate = {
  name: 'record-only',
  handles: [],
  async create() {
    return { attributes: {}, status: 'running' };
  },
  async update(ctx) {
    return { attributes: ctx.previous?.attributes ?? {}, status: 'running' };
  },
  async delete() {
    // nothing was made
  },
  async inspect(ctx) {
    return { exists: true, status: 'running', attributes: ctx.previous?.attributes ?? {} };
  },
};
