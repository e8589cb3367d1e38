import { describe, expect, it } from 'vitest';
import { parseTrailers, withTrailers } from '../../src/git/index.js';

describe('commit trailers', () => {
  it('appends trailers as the last paragraph and reads them back', () => {
    const msg = withTrailers('kaidu(host-a): apply web\n\nTwo nodes changed.', { 'Kaidu-Host': 'host-a', 'Kaidu-Revision': 'abc' });
    expect(msg).toBe('kaidu(host-a): apply web\n\nTwo nodes changed.\n\nKaidu-Host: host-a\nKaidu-Revision: abc\n');
    expect(parseTrailers(msg)).toEqual({ 'Kaidu-Host': 'host-a', 'Kaidu-Revision': 'abc' });
  });

  it('finds none in a subject-only message or a prose last paragraph', () => {
    expect(parseTrailers('Fix: the thing')).toEqual({});
    expect(parseTrailers('subject\n\nsome words\nKey: value')).toEqual({});
    expect(withTrailers('subject')).toBe('subject\n');
  });

  it('keeps a trailer value on one line', () => {
    expect(parseTrailers(withTrailers('s', { Note: 'a\nb' }))).toEqual({ Note: 'a b' });
  });
});
