import { HttpError } from './http-error.js';

/** Decodes a body's bytes (strictly: a byte sequence the charset cannot hold throws). */
export interface BodyDecoder {
  /** The charset's WHATWG name, e.g. `utf-8`, `windows-1252`. */
  encoding: string;
  decode(bytes: Uint8Array): string;
}

const UTF8: BodyDecoder = new TextDecoder('utf-8', { fatal: true });

/**
 * The decoder for a request body of content type `type`: a byte order mark
 * first, as browsers decode (Java's "UTF-16" writes big-endian with one), then
 * the charset the type declares, UTF-8 when none; or the error for a charset
 * declared twice or that no decoder knows. A body was read as UTF-8 whatever
 * its charset said, and Latin-1 "Ã©" (the bytes C3 A9) is also UTF-8 "é": it
 * was stored changed. Decoded as declared, it is stored as sent.
 *
 * @example
 * ```ts
 * bodyDecoder('application/json; charset=iso-8859-1', bytes).decode(bytes); // as Latin-1 (windows-1252)
 * ```
 */
export function bodyDecoder(type: string, bytes: Uint8Array): BodyDecoder | HttpError {
  const declared = declaredDecoder(type);
  if (declared instanceof HttpError) return declared;
  const bom =
    bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf
      ? 'utf-8'
      : bytes[0] === 0xfe && bytes[1] === 0xff
        ? 'utf-16be'
        : bytes[0] === 0xff && bytes[1] === 0xfe
          ? 'utf-16le'
          : undefined;
  if (bom === undefined || bom === declared.encoding) return declared;
  return bom === 'utf-8' ? UTF8 : new TextDecoder(bom, { fatal: true });
}

/** A content type's parameters in turn, a quoted value whole: `foo="a;charset=x"` declares none. */
const PARAMETER = /;\s*([^=;\s]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)/g;

/**
 * `type` with its charset set to UTF-8, for a body passed on as text after a
 * framework's parser decoded it in the charset it declared.
 *
 * @example
 * ```ts
 * utf8Type('application/json; charset=iso-8859-1'); // 'application/json; charset=utf-8'
 * ```
 */
export function utf8Type(type: string): string {
  const kept = [...type.matchAll(PARAMETER)].filter(
    ([, name]) => name?.toLowerCase() !== 'charset',
  );
  const media = type.split(';', 1)[0]?.trim() ?? '';
  return [media, ...kept.map(([whole]) => whole.replace(/^;\s*/, '')), 'charset=utf-8'].join('; ');
}

function declaredDecoder(type: string): BodyDecoder | HttpError {
  const charsets: string[] = [];
  for (const [, name, value = ''] of type.matchAll(PARAMETER)) {
    if (name !== 'charset') continue;
    const bare = value.trim();
    const unquoted = bare.startsWith('"') ? bare.slice(1, -1).replace(/\\(.)/g, '$1') : bare;
    if (unquoted !== '') charsets.push(unquoted);
  }
  const refuse = (why: string) =>
    new HttpError(
      'UNSUPPORTED_MEDIA_TYPE',
      `The body's content-type ${why}; send JSON as UTF-8, with charset=utf-8 or none.`,
      { details: { contentType: type.slice(0, 200) } },
    );
  if (charsets.length > 1) return refuse('declares more than one charset');
  const [charset] = charsets;
  if (charset === undefined) return UTF8;
  let decoder: BodyDecoder;
  try {
    decoder = new TextDecoder(charset, { fatal: true });
  } catch {
    return refuse(`declares charset '${charset.slice(0, 40)}', which this server cannot decode`);
  }
  if (decoder.encoding === 'utf-8') return UTF8;
  // Node 20's decoder reads 0x80-0x9F of windows-1252 (what latin1, iso-8859-1
  // and us-ascii name) as C1 controls, Node 22's as € ’ “ ...: the same body
  // would be stored differently by Node version (nodejs/node#60888).
  return decoder.encoding === 'windows-1252' ? WINDOWS_1252 : decoder;
}

/** WHATWG's windows-1252 for 0x80-0x9F; every other byte is its own code point. */
const HIGH = [
  0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152,
  0x8d, 0x17d, 0x8f, 0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x2dc, 0x2122,
  0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178,
];
const UTF16 = new TextDecoder('utf-16le');

const WINDOWS_1252: BodyDecoder = {
  encoding: 'windows-1252',
  decode(bytes) {
    const units = new Uint16Array(bytes.length);
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i] as number;
      units[i] = b >= 0x80 && b < 0xa0 ? (HIGH[b - 0x80] as number) : b;
    }
    return UTF16.decode(units);
  },
};
