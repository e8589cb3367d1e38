/**
 * The order of names (hosts, services, nodes) in plans and state: `localeCompare`'s, as it always
 * was. The first `localeCompare` of a process loads ICU's collation data, 15-40 ms of CPU, more
 * than a warm `kaidu plan` spends on anything else; for the names Kaidu almost always sees it is
 * not needed: in the root collation (which C, POSIX and English locales use) lower-case letters,
 * digits, '-', '.' and '/' sort as their code units do (test/tosca/name-order.test.ts checks this
 * against `localeCompare` itself). Other names, or a locale with its own rules (Danish sorts "aa"
 * after "z"), still go through `localeCompare`, so no order changes.
 */
const SIMPLE = /^[-./0-9a-z]*$/;

let rootLike: boolean | undefined;

/** Whether ICU's default locale (LC_ALL, else LC_MESSAGES, else LANG, as ICU reads them) collates like the root. */
export function rootCollation(env: NodeJS.ProcessEnv = process.env): boolean {
  const locale = env.LC_ALL || env.LC_MESSAGES || env.LANG || '';
  return locale === '' || /^(C|POSIX|en)([._@-]|$)/i.test(locale);
}

/** `a.localeCompare(b)`, without loading the collation data when the answer cannot differ from code-unit order. */
export function compareNames(a: string, b: string): number {
  if ((rootLike ??= rootCollation()) && SIMPLE.test(a) && SIMPLE.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  return a.localeCompare(b);
}
