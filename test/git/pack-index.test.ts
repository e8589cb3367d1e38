import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/temp-dir.js';
import { indexPack } from '../../src/git/pack-index.js';

const exec = promisify(execFile);

describe('indexing a pack with node zlib', () => {
  it('writes the very index git index-pack writes, and gives every object with its id', async () => {
    const dir = tempDir('kaidu-pack-index-');
    const g = (...args: string[]) => exec('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.invalid', ...args], { cwd: join(dir, 'src'), maxBuffer: 64 * 1024 * 1024 });
    await mkdir(join(dir, 'src', 'deep', 'er'), { recursive: true });
    await exec('git', ['init', '-q', join(dir, 'src')]);
    const body = (i: number) => Array.from({ length: 200 }, (_, l) => `line ${l} of a file that changes a little: ${l === i ? 'changed' : 'same'}`).join('\n');
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 40; i++) await writeFile(join(dir, 'src', i % 2 ? 'deep/er' : '.', `f${i}.txt`), body(i + round));
      await g('add', '-A');
      await g('commit', '-qm', `round ${round}`);
    }
    await exec('sh', ['-c', 'git rev-list --objects --all | git pack-objects --stdout > ../p.pack && git index-pack -o ../p.idx ../p.pack'], { cwd: join(dir, 'src') });
    const pack = await readFile(join(dir, 'p.pack'));
    const verify = (await exec('git', ['verify-pack', '-v', join(dir, 'p.idx')], { cwd: join(dir, 'src') })).stdout;
    expect(verify).toMatch(/chain length = 1:/); // the fixture holds deltas
    const indexed = indexPack(pack, { keepBytes: 1e9 });
    expect(Buffer.compare(indexed.idx, await readFile(join(dir, 'p.idx')))).toBe(0);
    const objects = (await exec('git', ['rev-list', '--objects', '--all'], { cwd: join(dir, 'src') })).stdout.split('\n').filter(Boolean).map((l) => l.split(' ')[0]!);
    expect(indexed.types.size).toBe(objects.length);
    const someBlob = (await exec('git', ['rev-parse', 'HEAD:deep/er/f1.txt'], { cwd: join(dir, 'src') })).stdout.trim();
    expect(indexed.objects.get(someBlob)?.data.toString()).toBe((await readFile(join(dir, 'src', 'deep', 'er', 'f1.txt'))).toString());
    // bounded: nothing kept beyond keepBytes, the index is whole all the same
    const lean = indexPack(pack, { keepBytes: 0 });
    expect(lean.objects.size).toBe(0);
    expect(Buffer.compare(lean.idx, indexed.idx)).toBe(0);
  });

  it('refuses a damaged pack instead of indexing it', async () => {
    const dir = tempDir('kaidu-pack-index-');
    await mkdir(join(dir, 'src'), { recursive: true });
    await exec('git', ['init', '-q', join(dir, 'src')]);
    await writeFile(join(dir, 'src', 'a.txt'), 'hello\n'.repeat(100));
    await exec('sh', ['-c', 'git add -A && git -c user.name=T -c user.email=t@e.invalid commit -qm one && git rev-list --objects --all | git pack-objects --stdout > ../p.pack'], { cwd: join(dir, 'src') });
    const pack = await readFile(join(dir, 'p.pack'));
    const flipped = Buffer.from(pack);
    flipped[40] ^= 0xff;
    expect(() => indexPack(flipped)).toThrow(/checksum/);
    expect(() => indexPack(pack.subarray(0, pack.length - 30))).toThrow(/damaged pack/);
    expect(() => indexPack(Buffer.from('NOTAPACK'.repeat(8)))).toThrow(/PACK header/);
  });

  it('keeps each object in a buffer of its own size (not zlib\'s 16 KiB output chunk), and takes no stated size on trust', () => {
    const small = Array.from({ length: 200 }, (_, i): ['blob', Buffer] => ['blob', Buffer.from(`value: ${i}\n`)]);
    const indexed = indexPack(packOf([...small, ['blob', Buffer.from('x'.repeat(100_000))]]), { keepBytes: 1e9 });
    const kept = [...indexed.objects.values()];
    expect(kept.map((o) => o.data.toString())).toEqual([...small.map(([, b]) => b.toString()), 'x'.repeat(100_000)]);
    // The memory behind them: zlib's 16 KiB output chunk for each kept 200 x 16 KiB alive before (160 MB for 10,000 files).
    const held = new Set(kept.map((o) => o.data.buffer));
    expect([...held].reduce((n, b) => n + b.byteLength, 0)).toBeLessThan(100_001 + 200 * 1024);
    // An entry that states 1 GiB and inflates to 2 bytes: refused (and no 1 GiB buffer is made for it first).
    expect(() => indexPack(packOf([['blob', Buffer.from('hi')]], 2 ** 30))).toThrow(/entry at 12 inflates to 2 bytes, not 1073741824/);
  });
});

/** A version-2 pack of whole (undeltified) objects; `statedSize` overrides the first entry's header. */
function packOf(objects: Array<['blob' | 'tree' | 'commit', Buffer]>, statedSize?: number): Buffer {
  const type = { commit: 1, tree: 2, blob: 3 };
  const parts: Buffer[] = [Buffer.from('PACK'), Buffer.from([0, 0, 0, 2]), Buffer.alloc(4)];
  parts[2]!.writeUInt32BE(objects.length);
  objects.forEach(([kind, data], i) => {
    let size = i === 0 && statedSize !== undefined ? statedSize : data.length;
    const header = [(type[kind] << 4) | (size & 15)];
    size = Math.floor(size / 16);
    while (size > 0) {
      header[header.length - 1]! |= 0x80;
      header.push(size & 0x7f);
      size = Math.floor(size / 128);
    }
    parts.push(Buffer.from(header), deflateSync(data));
  });
  const body = Buffer.concat(parts);
  return Buffer.concat([body, createHash('sha1').update(body).digest()]);
}
