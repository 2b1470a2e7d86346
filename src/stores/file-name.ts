import { createHash } from 'node:crypto';

const SLUG_MAX = 64;

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
  const hash = createHash('sha256').update(id, 'utf8').digest('hex').slice(0, 32);
  const slug = id
    .normalize('NFKD')
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
