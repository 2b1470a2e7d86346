import * as crypto from 'node:crypto';

const SLUG_MAX = 64;

/** Anything but printable ASCII (which NFKD leaves as it is). */
const NOT_PRINTABLE_ASCII = /[^ -~]/;

// crypto.hash (Node 20.12+) hashes a short string in one call, several times
// cheaper than a Hash object: it runs once per file at start() and per write.
const oneShot = (crypto as { hash?: (algorithm: string, data: string) => string }).hash;
const sha256Hex = oneShot
  ? (id: string) => oneShot('sha256', id)
  : (id: string) => crypto.createHash('sha256').update(id, 'utf8').digest('hex');

/**
 * The file name that holds instance `id`: `<hash>-<slug>.json`.
 *
 * - The hash (SHA-256 of the ID's exact UTF-8 bytes, 128 bits as lowercase hex)
 *   makes names distinct for every distinct ID, including IDs that differ only in
 *   case or in Unicode normalisation, and keeps them distinct on case-insensitive
 *   and normalising file systems (it is all lowercase ASCII).
 * - The slug is a readable, lowercase ASCII hint of the ID for people browsing
 *   the directory; it carries no meaning and is never parsed back.
 * - Starting with the hash rules out reserved names (`CON`, `NUL`...), dot files
 *   and `..`; nothing but `[0-9a-z._-]` ever appears, so no name escapes `dir`.
 * - At most 32 + 1 + 64 + 5 = 102 bytes, well under the 255-byte limit.
 *
 * @example
 * ```ts
 * fileNameFor('Tenant/42'); // '9c1d...e0-tenant-42.json'
 * ```
 */
export function fileNameFor(id: string): string {
  const hash = sha256Hex(id).slice(0, 32);
  // Only IDs beyond printable ASCII pay for normalising.
  const slug = (NOT_PRINTABLE_ASCII.test(id) ? id.normalize('NFKD') : id)
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, SLUG_MAX);
  return slug ? `${hash}-${slug}.json` : `${hash}.json`;
}

/** Whether a directory entry is an instance file (rather than a temporary or foreign file). */
export function isInstanceFileName(name: string): boolean {
  return /^[0-9a-f]{32}(-[a-z0-9._-]*)?\.json$/.test(name);
}
