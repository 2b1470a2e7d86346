import { parseArgs } from 'node:util';
import { RegistryError } from '../errors.js';
import type { InstanceStatusName } from '../record.js';
import { type CliOutput, short, table, terminalSafe, view } from './cli-output.js';
import { type CliRecord, type CliStore, openCliStore } from './cli-store.js';
import { TopK } from './top-k.js';

/** Re-exported so code that imported the output type from here keeps compiling. */
export type { CliOutput } from './cli-output.js';

const USAGE = `Usage: xstate-registry --store <dir | postgres://url> <command>

Commands:
  ls [--status S[,S]] [--type T[,T]] [--prefix P] [--limit N (1..10000, default 100)] [--order created|updated]
  show ID
  history ID
  purge ID [--force]          (--force: also a running instance)
  quarantine ls [--limit N]
  quarantine restore KEY

Options: --json (one JSON object per line), --table NAME (PostgreSQL table).
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
  let args: ReturnType<typeof parse>;
  try {
    args = parse(argv);
  } catch (err) {
    io.err(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = args;
  const [command, sub, third] = positionals;
  if (values.help || !command) {
    (values.help ? io.out : io.err)(USAGE);
    return values.help ? 0 : 2;
  }
  const target = values.store ?? process.env.XSTATE_REGISTRY_STORE;
  if (!target) {
    io.err(`Name the store with --store <dir | postgres://url>.\n\n${USAGE}`);
    return 2;
  }
  const write = command === 'purge' || (command === 'quarantine' && sub === 'restore');
  let store: CliStore | undefined;
  try {
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
    io.err(`error: ${(err as Error).message}`);
    return 1;
  } finally {
    await store?.close().catch(() => {});
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
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

type Values = ReturnType<typeof parse>['values'];

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
        io.out(
          values.json
            ? JSON.stringify(h)
            : `${h.seq ?? ''}\t${typeof h.at === 'number' ? new Date(h.at).toISOString() : ''}\t${h.source ?? ''}\t${h.event?.type ?? ''}\t${short(h.before)} -> ${short(h.after)}`,
        );
      }
      return 0;
    }
    case 'purge': {
      const id = needId(sub);
      const found = await store.read(id);
      if (!found) throw notFound(id);
      if (found.record.status === 'running' && !values.force)
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
        const limit = values.limit === undefined ? Number.POSITIVE_INFINITY : Number(values.limit);
        if (limit !== Number.POSITIVE_INFINITY && (!Number.isInteger(limit) || limit < 1))
          throw usage('--limit must be a positive integer.');
        let shown = 0;
        let cursor: string | null = null;
        do {
          const page = await store.listSetAside({
            limit: Math.min(1000, limit - shown),
            ...(cursor !== null ? { cursor } : {}),
          });
          const rows = page.items.map((r) => [
            r.key,
            r.id ?? '',
            new Date(r.at).toISOString(),
            r.reason,
          ]);
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
  const limit = values.limit === undefined ? 100 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LS_LIMIT)
    throw usage(
      `--limit must be an integer from 1 to ${MAX_LS_LIMIT}; narrow the listing with --status, --type or --prefix.`,
    );
  const order = values.order ?? 'created';
  if (order !== 'created' && order !== 'updated')
    throw usage("--order must be 'created' or 'updated'.");
  const key = (r: CliRecord) => (order === 'updated' ? -r.record.updatedAt : r.record.createdAt);
  // The first `limit` in order, picked as records stream by: a store of millions
  // is listed in memory bounded by the page, never held whole.
  const top = new TopK<CliRecord>(
    limit,
    (a, b) =>
      key(a) - key(b) || (a.record.id < b.record.id ? -1 : a.record.id > b.record.id ? 1 : 0),
  );
  for await (const r of store.records()) {
    if (statuses && !statuses.includes(r.record.status as InstanceStatusName)) continue;
    if (types && !types.includes(r.record.type)) continue;
    if (values.prefix && !r.record.id.startsWith(values.prefix)) continue;
    top.offer(r);
  }
  const shown = top.result().map(view);
  if (values.json) for (const s of shown) io.out(JSON.stringify(s));
  else if (shown.length)
    for (const line of table([
      ['ID', 'TYPE', 'STATUS', 'STATE', 'UPDATED'],
      ...shown.map((s) => [s.id, s.type, s.status, short(s.value), s.updatedAt]),
    ]))
      io.out(line);
  if (top.seen > limit) io.err(`(${top.seen - limit} more; raise --limit)`);
  return 0;
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
