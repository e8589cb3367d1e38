/**
 * The profiles' readings prebuilt by `npm run build` (dist/bundle/profile-records.bin, written by
 * scripts/bundle.mjs). Only the bundle uses them: the build stamps the bundle and the store with one
 * id (a digest of dist/), so a store is never read by code other than the code that wrote it; dist/
 * run on its own (KAIDU_NO_BUNDLE=1, or after a bare `tsc`) reads the profiles' YAML.
 * KAIDU_PROFILE_RECORDS names another store file (tests of a damaged one); KAIDU_PROFILE_RECORDS=off
 * reads the YAML.
 */
import { readFileSync } from 'node:fs';
import { openRecordStore, recordStoreKey, type PrebuiltRecords } from '../tosca/document/prebuilt-records.js';

declare const __KAIDU_BUILD__: string | undefined;

/** The id the bundle was built with; undefined when running dist/ as tsc compiled it. */
export const BUILD_ID: string | undefined = typeof __KAIDU_BUILD__ === 'string' ? __KAIDU_BUILD__ : undefined;

export function prebuiltProfiles(): PrebuiltRecords | undefined {
  const named = process.env.KAIDU_PROFILE_RECORDS;
  if (!BUILD_ID || named === 'off') return undefined;
  let bytes: Buffer;
  try {
    bytes = readFileSync(named || new URL('../bundle/profile-records.bin', import.meta.url));
  } catch {
    return undefined; // none built (esbuild missing): the YAML is read
  }
  return openRecordStore(bytes, recordStoreKey(BUILD_ID));
}
