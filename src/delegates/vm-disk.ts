/**
 * A VirtualMachine's own disk: made with qemu-img when missing, from a template image (a qcow2
 * overlay backed by it, so the template is never written) or blank, and removed with the VM.
 */
import { rm, stat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { KaiduError } from '../errors/kaidu-error.js';
import type { PlainValue } from '../state/model.js';
import { runChecked } from './command-runner.js';
import { str } from './runtime-common.js';
import type { DelegateContext } from './types.js';
import { diskFormat } from './vm-domain-xml.js';

/** A disk Kaidu makes (from `disk_template` or `disk_size`) belongs to the VM: it goes when the VM goes. */
export function ownsDisk(p: Record<string, PlainValue>): boolean {
  return Boolean(str(p.disk_template)) || typeof p.disk_size === 'number';
}

export async function fileExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** Makes `disk` when it does not exist yet; an existing disk is used as it is (its data kept). */
export async function ensureDisk(ctx: DelegateContext, disk: string, p: Record<string, PlainValue>): Promise<void> {
  if (await fileExists(disk)) return;
  const template = str(p.disk_template);
  const size = typeof p.disk_size === 'number' ? String(Math.round(p.disk_size)) : undefined;
  if (template) {
    if (diskFormat(disk) !== 'qcow2') throw new KaiduError('E_DELEGATE', `${ctx.node.id}: a disk made from disk_template is a qcow2 overlay: name it .qcow2, not ${disk}`);
    if (!isAbsolute(template)) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: disk_template must be an absolute path, not ${JSON.stringify(template)}`);
    if (!(await fileExists(template))) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: disk_template ${template} does not exist`);
    const info = await runChecked(ctx.runner, { argv: ['qemu-img', 'info', '--output=json', template], signal: ctx.signal });
    const format = (JSON.parse(info.stdout) as { format?: string }).format;
    if (!format) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: qemu-img info reports no format for ${template}`);
    await runChecked(ctx.runner, { argv: ['qemu-img', 'create', '-q', '-f', 'qcow2', '-F', format, '-b', template, disk, ...(size ? [size] : [])], signal: ctx.signal });
    return;
  }
  if (size) {
    await runChecked(ctx.runner, { argv: ['qemu-img', 'create', '-q', '-f', diskFormat(disk), disk, size], signal: ctx.signal });
    return;
  }
  throw new KaiduError('E_DELEGATE', `${ctx.node.id}: disk ${disk} does not exist (give disk_template or disk_size to have it made)`);
}

/** Removes a disk the VM owns; one already gone is fine. */
export async function removeDisk(disk: string): Promise<void> {
  await rm(disk, { force: true });
}
