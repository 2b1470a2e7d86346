import { parseArgs } from 'node:util';
import { RegistryError } from '../errors.js';
import type { InstanceRecord, InstanceStatusName } from '../record.js';
import {
  type CliOutput,
  cell,
  cut,
  short,
  table,
  terminalSafe,
  timeText,
  view,
} from './cli-output.js';
import { type CliStore, openCliStore } from './cli-store.js';
import { TopK } from './top-k.js';

/** Re-exported so code that imported the output type from here keeps compiling. */
export type { CliOutput } from './cli-output.js';

const USAGE = `Usage: xstate-registry --store <dir | postgres://url> <command>

Commands:
  ls [--status S[,S]] [--type T[,T]] [--prefix P] [--limit N (1..10000, default 100)] [--order created|updated]
  show ID
  history ID
  purge ID [--force]          (--force: also a running instance, or a record that cannot be read)
  quarantine ls [--limit N]
  quarantine restore KEY

Options: --json (one JSON object per line), --table NAME (PostgreSQL table).
The store may also be named by XSTATE_REGISTRY_STORE.
Reading never takes the store's lock; purge and quarantine restore refuse with
STORE_LOCKED while a live process owns the directory (or, in PostgreSQL, the instance).`;

const STATUSES = ['running', 'done', 'error', 'stopped'];
/** The most records one `ls` prints: each is held until the listing ends. */
const MAX_LS_LIMIT = 10_000;

/**
 * Runs one CLI command and resolves to its exit code: 0 done, 1 refused or
 * failed (`error CODE: message` on stderr), 2 bad usage.
 *
 * @example
 * ```ts
 * const code = await runCli(['--store', './data', 'ls', '--status', 'error'], {
 *   out: console.log,
 *   err: console.error,
 * });
 * ```
 */
export async function runCli(argv: string[], terminal: CliOutput): Promise<number> {
  const io = terminalSafe(terminal);
  let store: CliStore | undefined;
  try {
    const { values, positionals } = parse(argv);
    const [command, sub, third] = positionals;
    if (values.help || !command) {
      (values.help ? io.out : io.err)(USAGE);
      return values.help ? 0 : 2;
    }
    const target = values.store ?? process.env.XSTATE_REGISTRY_STORE;
    if (!target) throw usage(`Name the store with --store <dir | postgres://url>.\n\n${USAGE}`);
    const write = command === 'purge' || (command === 'quarantine' && sub === 'restore');
    store = await openCliStore(target, { write, ...(values.table ? { table: values.table } : {}) });
    const code = await dispatch(store, command, sub, third, values, io);
    for (const s of store.skipped) io.err(`skipped ${s}`);
    if (store.skippedMore > 0) io.err(`skipped ${store.skippedMore} more`);
    return code;
  } catch (err) {
    if (err instanceof RegistryError) {
      io.err(`error ${err.code}: ${err.message}`);
      return err.details.usage === true ? 2 : 1;
    }
    // Not ours: still `error CODE: message`, as the exit codes promise. A
    // system call's failure (EACCES, ENOTDIR...) is the store's files.
    const message = (err as Error)?.message ?? String(err);
    io.err(
      typeof (err as NodeJS.ErrnoException)?.code === 'string'
        ? `error INVALID_ARGUMENT: The store could not be read or changed (${message}); check its files and their permissions.`
        : `error INTERNAL: ${message}`,
    );
    return 1;
  } finally {
    await store?.close().catch(() => {});
  }
}

/** How many words each command takes, itself included (`quarantine restore KEY`: 3). */
const WORDS: Record<string, (sub: string | undefined) => number> = {
  ls: () => 1,
  show: () => 2,
  history: () => 2,
  purge: () => 2,
  quarantine: (sub) => (sub === 'restore' ? 3 : 2),
};

function parse(argv: string[]) {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(argv);
  } catch (err) {
    throw usage(`${(err as Error).message}\n\n${USAGE}`);
  }
  // A repeated option kept its last value, silently (two --store, which one?).
  const seen = new Set<string>();
  for (const token of parsed.tokens ?? []) {
    if (token.kind !== 'option') continue;
    if (seen.has(token.name)) throw usage(`--${token.name} is given more than once.`);
    seen.add(token.name);
  }
  // `purge p/1 p/2` purged p/1 alone and said nothing of p/2.
  const [command, sub] = parsed.positionals;
  const words = command !== undefined ? WORDS[command]?.(sub) : undefined;
  const extra = words === undefined ? undefined : parsed.positionals[words];
  if (extra !== undefined)
    throw usage(
      `Unexpected argument ${JSON.stringify(extra)} after '${parsed.positionals.slice(0, words).join(' ')}'; run one command per ID.`,
    );
  return parsed;
}

function parseOptions(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    tokens: true,
    options: {
      store: { type: 'string' },
      table: { type: 'string' },
      status: { type: 'string' },
      type: { type: 'string' },
      prefix: { type: 'string' },
      limit: { type: 'string' },
      order: { type: 'string' },
      json: { type: 'boolean' },
      force: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

type Values = ReturnType<typeof parseOptions>['values'];

async function dispatch(
  store: CliStore,
  command: string,
  sub: string | undefined,
  third: string | undefined,
  values: Values,
  io: CliOutput,
): Promise<number> {
  const needId = (id: string | undefined): string => {
    if (!id) throw usage(`${command} needs an instance ID.`);
    return id;
  };
  switch (command) {
    case 'ls':
      return ls(store, values, io);
    case 'show': {
      const id = needId(sub);
      const found = await store.read(id);
      if (!found) throw notFound(id);
      io.out(JSON.stringify(view(found), null, values.json ? undefined : 2));
      return 0;
    }
    case 'history': {
      const id = needId(sub);
      const found = await store.read(id);
      if (!found) throw notFound(id);
      // Written by registries that keep history; a record without it has none to show.
      const kept = (found.record as { history?: unknown }).history ?? found.raw.history;
      const entries = Array.isArray(kept)
        ? kept
        : (kept as { entries?: unknown } | undefined)?.entries;
      if (!Array.isArray(entries)) return 0;
      for (const h of entries as Array<Record<string, any>>) {
        // Each field escaped: an event type holding a newline and tabs (any
        // sender can send one) printed as a forged history line of its own.
        const fields = [
          String(h.seq ?? ''),
          h.at === undefined ? '' : timeText(h.at),
          String(h.source ?? ''),
          String(h.event?.type ?? ''),
          `${short(h.before)} -> ${short(h.after)}`,
        ];
        io.out(values.json ? JSON.stringify(h) : fields.map(cell).join('\t'));
      }
      return 0;
    }
    case 'purge': {
      const id = needId(sub);
      // What stands in the record's place may not read as one (damaged, a FIFO,
      // another ID's copy): --force removes it all the same, as it removes a running one.
      const found = await store.read(id).catch((err: unknown) => {
        if (!values.force) throw withForceHint(err);
        return 'unreadable' as const;
      });
      if (!found) throw notFound(id);
      if (found !== 'unreadable' && found.record.status === 'running' && !values.force)
        throw new RegistryError(
          'INSTANCE_RUNNING',
          `Instance '${id}' is running; stop it first, or purge with --force.`,
          { details: { id } },
        );
      await store.remove(id);
      io.out(`purged ${id}`);
      return 0;
    }
    case 'quarantine':
      if (sub === 'ls') {
        // Page by page: a quarantine of millions is printed without holding it.
        const limit = values.limit === undefined ? Number.POSITIVE_INFINITY : digits(values.limit);
        if (limit !== Number.POSITIVE_INFINITY && (!Number.isInteger(limit) || limit < 1))
          throw usage('--limit must be a positive integer.');
        let shown = 0;
        let cursor: string | null = null;
        do {
          const page = await store.listSetAside({
            limit: Math.min(1000, limit - shown),
            ...(cursor !== null ? { cursor } : {}),
          });
          const rows = page.items.map((r) => [r.key, r.id ?? '', timeText(r.at), r.reason]);
          if (values.json) for (const r of page.items) io.out(JSON.stringify(r));
          else if (rows.length)
            for (const line of table(
              shown === 0 ? [['KEY', 'ID', 'SET ASIDE', 'REASON'], ...rows] : rows,
            ))
              io.out(line);
          shown += page.items.length;
          cursor = page.cursor;
        } while (cursor !== null && shown < limit);
        if (cursor !== null) io.err(`(more set aside; raise --limit)`);
        return 0;
      }
      if (sub === 'restore') {
        if (!third) throw usage('quarantine restore needs a KEY (see quarantine ls).');
        await store.restoreSetAside(third);
        io.out(`restored ${third}; it is loaded at the next start`);
        return 0;
      }
      throw usage(`Unknown quarantine command ${JSON.stringify(sub)}; use ls or restore.`);
    default:
      throw usage(`Unknown command ${JSON.stringify(command)}.\n\n${USAGE}`);
  }
}

async function ls(store: CliStore, values: Values, io: CliOutput): Promise<number> {
  const list = (v: string | undefined, name: string) => {
    const names = v?.split(',').filter(Boolean);
    // `--status ''` listed nothing, silently.
    if (names?.length === 0) throw usage(`--${name} needs at least one name.`);
    return names;
  };
  const statuses = list(values.status, 'status');
  for (const s of statuses ?? [])
    if (!STATUSES.includes(s))
      throw usage(`--status must be among ${STATUSES.join(', ')}; got ${JSON.stringify(s)}.`);
  const types = list(values.type, 'type');
  const limit = values.limit === undefined ? 100 : digits(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LS_LIMIT)
    throw usage(
      `--limit must be an integer from 1 to ${MAX_LS_LIMIT}; narrow the listing with --status, --type or --prefix.`,
    );
  const order = values.order ?? 'created';
  if (order !== 'created' && order !== 'updated')
    throw usage("--order must be 'created' or 'updated'.");
  // The first `limit` in order, picked as records stream by: a store of millions
  // is listed in memory bounded by the page, never held whole. Each pick keeps
  // only its table row (ten short cells), never the record: 40 records of 4 MiB
  // ran a 512 MB heap out of memory. `--json` prints whole records, so the
  // picks are read again one at a time to print them.
  const top = new TopK<Listed>(
    limit,
    (a, b) => a.key - b.key || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  for await (const record of store.records()) {
    if (statuses && !statuses.includes(record.status as InstanceStatusName)) continue;
    if (types && !types.includes(record.type)) continue;
    if (values.prefix && !record.id.startsWith(values.prefix)) continue;
    top.offer({
      key: order === 'updated' ? -record.updatedAt : record.createdAt,
      id: record.id,
      row: values.json ? undefined : row(record),
    });
  }
  const picked = top.result();
  if (values.json) {
    for (const { id } of picked) {
      const found = await store.read(id).catch((err: unknown) => {
        store.skip(`${id}: ${(err as Error).message}`);
        return undefined;
      });
      if (found) io.out(JSON.stringify(view(found)));
      else store.skip(`${id}: removed or changed while listing`);
    }
  } else if (picked.length) {
    for (const line of table([
      ['ID', 'TYPE', 'STATUS', 'STATE', 'UPDATED'],
      ...picked.map((p) => p.row ?? []),
    ]))
      io.out(line);
  }
  if (top.seen > limit) io.err(`(${top.seen - limit} more; raise --limit)`);
  return 0;
}

/** One record picked by `ls`: its sort key, ID and (for the table) its row, never the record. */
interface Listed {
  key: number;
  id: string;
  row: string[] | undefined;
}

function row(record: InstanceRecord): string[] {
  const s = view({ record });
  // The type is cut like the state: one tampered 200,000-character type padded every row to its width.
  return [s.id, cut(s.type), s.status, short(s.value), s.updatedAt];
}

/** A read's refusal, saying that `purge --force` removes what cannot be read. */
function withForceHint(err: unknown): unknown {
  if (!(err instanceof RegistryError) || err.message.includes('purge --force')) return err;
  return new RegistryError(err.code, `${err.message} purge --force removes it.`, {
    cause: err.cause,
    details: err.details,
  });
}

/** A count as the operator typed it in digits; anything else (' 0x2 ', '1e3', '1.0') is NaN. */
function digits(text: string): number {
  return /^[0-9]{1,9}$/.test(text) ? Number(text) : Number.NaN;
}

function notFound(id: string): RegistryError {
  return new RegistryError('INSTANCE_NOT_FOUND', `No stored record for instance '${id}'.`, {
    details: { id },
  });
}

/** A command line this CLI cannot run as given: `INVALID_ARGUMENT`, exit code 2. */
function usage(message: string): RegistryError {
  return new RegistryError('INVALID_ARGUMENT', message, { details: { usage: true } });
}
