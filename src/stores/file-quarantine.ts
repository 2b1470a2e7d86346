import { join } from 'node:path';
import { fileNameFor } from './file-name.js';
import type { FsLayer } from './fs-layer.js';
import type { GroupSync } from './group-sync.js';
import type { IoLimit } from './io-limit.js';
import {
  idInText,
  recordedAgain,
  type SetAsidePage,
  SetAsidePicker,
  type SetAsideQuery,
  setAsideRecord,
  unknownSetAside,
} from './store.js';

/** What the quarantine directory shares with its {@link FileStore}. */
export interface FileQuarantineDeps {
  fs: FsLayer;
  io: IoLimit;
  /** `<dir>/instances`. */
  instances: string;
  /** `<dir>/quarantine`. */
  quarantine: string;
  maxFileBytes: number;
  /** The instances directory's group fsync. */
  dirSync: GroupSync;
}

/**
 * A file store's `quarantine/` directory: records moved aside with a note of
 * why (`<original>.<time>.<random>.json` and `.reason.txt`), listed, and
 * restored. Part of {@link FileStore}, which checks it is open and writable.
 *
 * @example
 * ```ts
 * const q = new FileQuarantine({ fs: nodeFs, io, instances, quarantine, maxFileBytes, dirSync });
 * await q.moveAside('a.json', 'DECODE_FAILED: not JSON');
 * for (const r of await q.list()) await q.restore(r.key);
 * ```
 */
export class FileQuarantine {
  readonly #fs: FsLayer;
  readonly #io: IoLimit;
  readonly #instances: string;
  readonly #quarantine: string;
  readonly #maxFileBytes: number;
  readonly #dirSync: GroupSync;

  constructor(deps: FileQuarantineDeps) {
    this.#fs = deps.fs;
    this.#io = deps.io;
    this.#instances = deps.instances;
    this.#quarantine = deps.quarantine;
    this.#maxFileBytes = deps.maxFileBytes;
    this.#dirSync = deps.dirSync;
  }

  /** Moves `instances/<key>` aside with a note of `reason`, under a name nothing else has. */
  async moveAside(key: string, reason: string): Promise<void> {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const base = `${key.replace(/\.json$/, '')}.${stamp}.${Math.random().toString(36).slice(2, 8)}`;
    const notePath = join(this.#quarantine, `${base}.reason.txt`);
    const from = join(this.#instances, key);
    const to = join(this.#quarantine, `${base}.json`);
    const note = await this.#fs.open(notePath, 'wx');
    try {
      await note.writeFile(`${reason}\n`);
      await note.sync();
    } finally {
      await note.close();
    }
    try {
      try {
        // link + unlink rather than rename: never overwrites anything in quarantine/.
        await this.#fs.link(from, to);
        await this.#fs.syncDir(this.#quarantine);
        await this.#fs.unlink(from);
      } catch (err) {
        // A directory cannot be hard-linked: rename it, to a name nothing else has.
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EPERM' && code !== 'EISDIR') throw err;
        await this.#fs.rename(from, to);
        await this.#fs.syncDir(this.#quarantine);
      }
    } catch (err) {
      await this.#fs.unlink(notePath).catch(() => {});
      throw err;
    }
  }

  /**
   * A page of the files set aside, newest first. The directory is streamed
   * and only the page's files are read, so memory grows with the page, not
   * with the directory (which may hold millions after a bad deploy).
   */
  async list(query?: SetAsideQuery): Promise<SetAsidePage> {
    const pick = new SetAsidePicker<string>(query);
    try {
      for await (const name of this.#names()) {
        const parsed = parseSetAsideName(name);
        if (parsed) pick.offer({ at: parsed.at, key: name }, name);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const { chosen, cursor } = pick.page();
    const items: SetAsidePage['items'] = [];
    for (const name of chosen) {
      const base = name.slice(0, -'.json'.length);
      const text = await this.#io
        // Lenient: a record set aside for a damaged byte is still listed with its ID.
        .run(() => this.#fs.readFile(join(this.#quarantine, name), this.#maxFileBytes, true))
        .catch(() => undefined);
      const reason = await this.#io
        .run(() => this.#fs.readFile(join(this.#quarantine, `${base}.reason.txt`), 64 * 1024))
        .catch(() => '(no reason recorded)');
      items.push(setAsideRecord(name, text, reason.trim(), parseSetAsideName(name)?.at ?? 0));
    }
    return { items, cursor };
  }

  /** The quarantine directory's names, streamed where the file-system layer can. */
  async *#names(): AsyncIterable<string> {
    if (this.#fs.scanDir) yield* this.#fs.scanDir(this.#quarantine);
    else yield* await this.#fs.readdir(this.#quarantine);
  }

  /** Puts the file `key` back under its ID's own name; `INSTANCE_EXISTS` if that ID has a record again. */
  async restore(key: string): Promise<void> {
    const parsed = parseSetAsideName(key);
    if (!parsed || key.includes('/')) throw unknownSetAside(key);
    const from = join(this.#quarantine, key);
    let text: string;
    try {
      // Lenient: only its ID is read; the file goes back byte for byte.
      text = await this.#fs.readFile(from, this.#maxFileBytes, true);
    } catch {
      throw unknownSetAside(key);
    }
    // Back under its ID's own name (a stray copy's name would only be set aside again).
    const id = idInText(text);
    const to =
      id !== undefined
        ? join(this.#instances, fileNameFor(id))
        : join(this.#instances, parsed.original);
    try {
      // link, never rename: an ID that has a record again keeps it.
      await this.#fs.link(from, to);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST')
        throw recordedAgain(id ?? parsed.original);
      throw err;
    }
    await this.#dirSync.run();
    await this.#fs.unlink(from);
    await this.#fs
      .unlink(join(this.#quarantine, `${key.slice(0, -'.json'.length)}.reason.txt`))
      .catch(() => {});
    await this.#fs.syncDir(this.#quarantine);
  }
}

/** The original name and time of a set-aside file: `<original>.<ISO stamp, - for : and .>.<random>.json`. */
function parseSetAsideName(name: string): { original: string; at: number } | undefined {
  const m = /^(.+)\.(\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z)\.[a-z0-9]+\.json$/.exec(name);
  if (!m) return undefined;
  const stamp = (m[2] as string).replace(/T(\d\d)-(\d\d)-(\d\d)-(\d{3})Z$/, 'T$1:$2:$3.$4Z');
  return { original: `${m[1]}.json`, at: Date.parse(stamp) };
}
