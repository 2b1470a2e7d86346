import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import {
  createHttpHandler,
  type HttpHandlerOptions,
  type HttpTarget,
  toNodeListener,
} from '../../src/http/index.js';
import type { Registry } from '../../src/index.js';

/** A started server, on 127.0.0.1 and a free port. */
export interface Listening {
  server: Server;
  port: number;
  base: string;
  close: () => Promise<void>;
}

/** Starts `server` on 127.0.0.1 and a free port; `close` ends its open connections too. */
export async function listen(server: Server): Promise<Listening> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    base: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/** A real server on 127.0.0.1 for `registry`, on a free port. */
export function serve(
  registry: Registry<any>,
  options: HttpHandlerOptions = {},
): Promise<Listening> {
  return listen(createServer(toNodeListener(createHttpHandler(registry, options))));
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends one HTTP/1.1 request byte for byte (any Host, any target, any header:
 * what an attacker's client sends) and reads the answer until the server closes.
 */
export function raw(
  port: number,
  method: string,
  target: string,
  headers: Record<string, string> = {},
  body = '',
): Promise<RawResponse> {
  const head = [
    `${method} ${target} HTTP/1.1`,
    ...Object.entries({ host: `127.0.0.1:${port}`, ...headers }).map(([k, v]) => `${k}: ${v}`),
    `content-length: ${Buffer.byteLength(body)}`,
    'connection: close',
    '',
    '',
  ].join('\r\n');
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(head + body));
    const chunks: Buffer[] = [];
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [top = '', ...rest] = text.split('\r\n\r\n');
      const [statusLine = '', ...lines] = top.split('\r\n');
      const parsed: Record<string, string> = {};
      for (const line of lines) {
        const i = line.indexOf(':');
        parsed[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      let payload = rest.join('\r\n\r\n');
      if (parsed['transfer-encoding'] === 'chunked') payload = unchunk(payload);
      resolve({ status: Number(statusLine.split(' ')[1]), headers: parsed, body: payload });
    });
  });
}

function unchunk(text: string): string {
  let out = '';
  let rest = text;
  for (;;) {
    const nl = rest.indexOf('\r\n');
    const size = Number.parseInt(rest.slice(0, nl), 16);
    if (!size) return out;
    out += rest.slice(nl + 2, nl + 2 + size);
    rest = rest.slice(nl + 4 + size);
  }
}

/** The parsed `{ error: { code } }` of an answer, or undefined. */
export function codeOf(res: RawResponse): string | undefined {
  try {
    return (JSON.parse(res.body) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}

/** Every instance's id, status and state value: "nothing changed" compares two of these. */
export async function snapshotOf(registry: Registry<any>): Promise<string> {
  const page = await registry.list({ limit: 1000 });
  return JSON.stringify(page.items.map((s) => [s.id, s.status, s.value, s.context, s.updatedAt]));
}

/**
 * The README's tenant policy (one tenant per ID prefix, named by the
 * `x-tenant` header), as a user would copy it.
 */
export function tenantPolicy(request: Request, _action: string, target: HttpTarget): boolean {
  const mine = `${request.headers.get('x-tenant') ?? ''}/`;
  if (target.id !== undefined) return target.id.startsWith(mine);
  return target.idPrefix?.startsWith(mine) === true; // everything else reaches other tenants
}
