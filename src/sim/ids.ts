import { createHash, randomBytes } from 'node:crypto';

export function randomHex(chars: number): string {
  return randomBytes(Math.ceil(chars / 2)).toString('hex').slice(0, chars);
}

/**
 * The infohash the simulated engine reports for a content id (or url/magnet). Real engines
 * resolve a content id to a different 40-hex infohash; tests compute the same value here.
 */
export function simInfohashForId(id: string): string {
  return createHash('sha1').update(`acerelay-sim:${id}`).digest('hex');
}

/** Content the simulated engine cannot load: any key starting with `dead`. */
export function isDeadKey(key: string): boolean {
  return key.toLowerCase().startsWith('dead');
}

export function isInfohash(text: string): boolean {
  return /^[0-9a-f]{40}$/i.test(text);
}
