import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signGithub, verifyGitea, verifyGithub, verifyToken } from '../../src/events/index.js';

const SECRET = "It's a Secret to Everybody";
const BODY = 'Hello, World!';

describe('signatures', () => {
  it("signGithub matches GitHub's documented example", () => {
    // https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries#testing-the-webhook-payload-validation
    expect(signGithub(BODY, SECRET)).toBe('sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17');
    expect(signGithub(Buffer.from(BODY), SECRET)).toBe(signGithub(BODY, SECRET));
  });

  it('verifyGithub: good, wrong, wrong length, missing, empty secret; never throws', () => {
    const good = signGithub(BODY, SECRET);
    expect(verifyGithub(Buffer.from(BODY), SECRET, good)).toBe(true);
    expect(verifyGithub(BODY, SECRET, good.toUpperCase().replace('SHA256=', 'sha256='))).toBe(true);
    expect(verifyGithub(BODY, 'other', good)).toBe(false);
    expect(verifyGithub(BODY + ' ', SECRET, good)).toBe(false);
    expect(verifyGithub(BODY, SECRET, 'sha256=abc')).toBe(false);
    expect(verifyGithub(BODY, SECRET, good + '00')).toBe(false);
    expect(verifyGithub(BODY, SECRET, 'sha256=' + 'é'.repeat(64))).toBe(false);
    expect(verifyGithub(BODY, SECRET, good.slice(7))).toBe(false); // the prefix is required
    expect(verifyGithub(BODY, SECRET, undefined)).toBe(false);
    expect(verifyGithub(BODY, SECRET, '')).toBe(false);
    expect(verifyGithub(BODY, '', signGithub(BODY, ''))).toBe(false);
  });

  it('verifyGitea: bare hex HMAC (a sha256= prefix tolerated)', () => {
    const hex = createHmac('sha256', SECRET).update(BODY).digest('hex');
    expect(verifyGitea(BODY, SECRET, hex)).toBe(true);
    expect(verifyGitea(BODY, SECRET, `sha256=${hex}`)).toBe(true);
    expect(verifyGitea(BODY, 'other', hex)).toBe(false);
    expect(verifyGitea(BODY, SECRET, '00')).toBe(false);
    expect(verifyGitea(BODY, SECRET, undefined)).toBe(false);
  });

  it('verifyToken: equal strings only, any length', () => {
    expect(verifyToken('tok', 'tok')).toBe(true);
    expect(verifyToken('tok', 'toK')).toBe(false);
    expect(verifyToken('to', 'tok')).toBe(false);
    expect(verifyToken('token-longer', 'tok')).toBe(false);
    expect(verifyToken(undefined, 'tok')).toBe(false);
    expect(verifyToken('', '')).toBe(false);
    expect(verifyToken('tok', undefined)).toBe(false);
  });
});
