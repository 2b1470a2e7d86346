import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { RegistryError } from '../errors.js';

/**
 * A held lock; `release()` gives it up (idempotent).
 *
 * @example
 * ```ts
 * const lock: DirLock = await acquireDirLock(dir);
 * try { ... } finally { await lock.release(); }
 * ```
 */
export interface DirLock {
  release(): Promise<void>;
}

/** Longest socket path we bind or connect to: `sun_path` is 108 bytes on Linux, 104 on macOS, NUL included. */
const MAX_SOCKET_PATH = 100;
const ATTEMPTS = 50;
const SOCK = /^([0-9a-f]{16})\.sock$/;
const INFO = /^([0-9a-f]{16})\.json$/;

const code = (err: unknown) => (err as NodeJS.ErrnoException | undefined)?.code;

/**
 * Paths for sockets under `dir`. A socket address holds about 100 bytes; for a
 * longer `dir` the path goes through an open descriptor of `dir`
 * (`/proc/self/fd/N/...`), which the kernel resolves without following any
 * name a user could swap. Where there is no `/proc`, a long `dir` is refused.
 */
class SocketPaths {
  readonly #dir: string;
  #fd: number | undefined;

  constructor(dir: string, longest: string) {
    this.#dir = dir;
    if (Buffer.byteLength(join(dir, longest)) <= MAX_SOCKET_PATH) return;
    try {
      this.#fd = openSync(dir, 'r');
    } catch (cause) {
      throw new RegistryError('INVALID_ARGUMENT', `Cannot open the directory ${dir}.`, { cause });
    }
    if (Buffer.byteLength(join(this.#via(), longest)) > MAX_SOCKET_PATH) {
      this.close();
      throw new RegistryError(
        'INVALID_ARGUMENT',
        `The path of ${dir} is too long for the FileStore's lock socket (at most about ${MAX_SOCKET_PATH - longest.length} bytes on this system); use a shorter directory.`,
        { details: { dir } },
      );
    }
  }

  #via(): string {
    return `/proc/self/fd/${this.#fd}`;
  }

  /** `rel` (under dir) as a socket address. */
  socket(rel: string): string {
    return join(this.#fd === undefined ? this.#dir : this.#via(), rel);
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}

/** Whether a process is listening on the socket: the kernel answers, whatever pid namespace the owner is in. */
function probe(path: string): Promise<'alive' | 'dead' | 'gone'> {
  return new Promise((resolve) => {
    const socket = connect({ path });
    socket.once('connect', () => {
      socket.destroy();
      resolve('alive');
    });
    socket.once('error', (err) => {
      socket.destroy();
      // ECONNREFUSED: a socket file nobody listens on (its owner died). Anything
      // else we cannot read as death (EAGAIN: a full backlog, e.g. a stopped owner).
      const c = code(err);
      resolve(c === 'ECONNREFUSED' ? 'dead' : c === 'ENOENT' ? 'gone' : 'alive');
    });
  });
}

function listen(path: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((s) => s.destroy());
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      server.on('error', () => {});
      server.unref(); // the lock must not keep a process alive that forgot to close its registry
      resolve(server);
    });
  });
}

async function describeOwner(lockDir: string, id: string): Promise<string> {
  try {
    const o = JSON.parse(await fsp.readFile(join(lockDir, `${id}.json`), 'utf8'));
    return `process ${o.pid} on ${o.host} (since ${o.since})`;
  } catch {
    return 'a live process';
  }
}

/**
 * Takes the lock of `dir`: exactly one owner however many processes try at once.
 *
 * The lock is the directory `dir/LOCK`, holding one Unix socket on which its
 * owner listens (and a note of its pid, host and start time, for people). It
 * is built complete under a private name and renamed into place; `rename`
 * replaces an absent or empty directory atomically and fails on a non-empty
 * one, so of many processes that find `LOCK` free, exactly one gets it.
 * Liveness is asked of the kernel, never read from a pid: connecting to the
 * socket succeeds while the owner lives (even stopped, or in another pid
 * namespace) and is refused once it is gone. A dead owner's socket is deleted
 * by its unique name, which empties `LOCK` for the next rename; nothing ever
 * deletes or moves a live owner's socket. An older version's `LOCK` file
 * (a pid) is taken as stale: stop every older process before upgrading.
 * Directories on network file systems are not supported.
 *
 * @example
 * ```ts
 * const lock = await acquireDirLock('/var/lib/app/data'); // STORE_LOCKED if owned
 * await lock.release();
 * ```
 */
export async function acquireDirLock(dir: string): Promise<DirLock> {
  // 64 random bits: unique among everything that ever opens this directory, and
  // short, so that socket paths fit in an address for most directories.
  const id = randomBytes(8).toString('hex');
  const candidate = `.lock-${id}`;
  const paths = new SocketPaths(dir, join(candidate, `${id}.sock`));
  const lockDir = join(dir, 'LOCK');
  let server: Server | undefined;
  try {
    await fsp.mkdir(join(dir, candidate));
    server = await listen(paths.socket(join(candidate, `${id}.sock`)));
    const since = new Date().toISOString();
    await fsp.writeFile(
      join(dir, candidate, `${id}.json`),
      `${JSON.stringify({ pid: process.pid, host: hostname(), since })}\n`,
    );
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      try {
        await fsp.rename(join(dir, candidate), lockDir);
        return ownedLock(lockDir, id, server, paths);
      } catch (err) {
        const c = code(err);
        if (c === 'ENOTDIR') {
          // A LOCK file of an earlier version: it names a pid, which proves nothing.
          await fsp.unlink(lockDir).catch(() => {});
          continue;
        }
        if (c !== 'ENOTEMPTY' && c !== 'EEXIST') throw err;
      }
      await clearDead(dir, lockDir, paths);
    }
    throw new RegistryError(
      'STORE_LOCKED',
      `Could not take the lock of ${dir}: ${lockDir} keeps changing or holds files this library did not put there; make sure no other registry uses the directory, then remove ${lockDir}.`,
      { details: { dir } },
    );
  } catch (err) {
    await abandon(dir, candidate, id, server);
    paths.close();
    throw err;
  }
}

/** Deletes the sockets of dead owners in LOCK (each by its unique name); throws STORE_LOCKED if one lives. */
async function clearDead(dir: string, lockDir: string, paths: SocketPaths): Promise<void> {
  let names: string[];
  try {
    names = await fsp.readdir(lockDir);
  } catch {
    return; // gone or replaced meanwhile: try the rename again
  }
  const sockets = new Set<string>();
  for (const name of names) {
    const m = SOCK.exec(name);
    if (m?.[1]) sockets.add(m[1]);
  }
  for (const owner of sockets) {
    const state = await probe(paths.socket(join('LOCK', `${owner}.sock`)));
    if (state === 'alive') {
      throw new RegistryError(
        'STORE_LOCKED',
        `The directory ${dir} is in use by ${await describeOwner(lockDir, owner)}. Only one registry may own a store; stop that registry first.`,
        { details: { dir } },
      );
    }
    if (state === 'dead') await fsp.unlink(join(lockDir, `${owner}.sock`)).catch(() => {});
  }
  // Every socket listed was dead: their notes go too, as do notes whose socket
  // is already gone (an owner that released, or died, halfway).
  for (const name of names)
    if (INFO.test(name)) await fsp.unlink(join(lockDir, name)).catch(() => {});
}

async function abandon(dir: string, candidate: string, id: string, server?: Server) {
  await fsp.unlink(join(dir, candidate, `${id}.json`)).catch(() => {});
  await fsp.unlink(join(dir, candidate, `${id}.sock`)).catch(() => {});
  await fsp.rmdir(join(dir, candidate)).catch(() => {});
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
}

function ownedLock(lockDir: string, id: string, server: Server, paths: SocketPaths): DirLock {
  void sweepCandidates(join(lockDir, '..'), paths);
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      // The socket first: from then on the lock reads as free.
      await fsp.unlink(join(lockDir, `${id}.sock`)).catch(() => {});
      await fsp.unlink(join(lockDir, `${id}.json`)).catch(() => {});
      await fsp.rmdir(lockDir).catch(() => {}); // only if empty: never a new owner's
      await new Promise<void>((resolve) => server.close(() => resolve()));
      paths.close();
    },
  };
}

/** Removes private lock directories left by processes that died while opening. */
async function sweepCandidates(dir: string, paths: SocketPaths): Promise<void> {
  try {
    for (const name of await fsp.readdir(dir)) {
      const m = /^\.lock-([0-9a-f]{16})$/.exec(name);
      if (!m?.[1]) continue;
      // The note is written once the socket listens: before that, a live opener's
      // socket would refuse connections too (bound, not yet listening).
      const noted = await fsp.stat(join(dir, name, `${m[1]}.json`)).then(
        () => true,
        () => false,
      );
      if (!noted || (await probe(paths.socket(join(name, `${m[1]}.sock`)))) !== 'dead') continue;
      await abandon(dir, name, m[1]);
    }
  } catch {}
}
