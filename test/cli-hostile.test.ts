import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { runCli } from '../src/cli/run-cli.js';
import { createRegistry, FileStore } from '../src/index.js';
import { tempDir } from './helpers.js';

const plain = setup({}).createMachine({ id: 'plain', initial: 'a', states: { a: {} } });
// A valid ID may hold C1 controls: U+009B is CSI, as ESC [ is, for many terminals.
const ID = 'csi\u009b2J';
const TITLE = '\u001b]0;PWNED\u0007\u001b[2J';
// Any control character a terminal acts on, but the tab and the newline that end a field and a line.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const ACTIVE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

async function run(...argv: string[]) {
  const lines: string[] = [];
  const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l) };
  const code = await runCli(argv, io);
  return { code, text: lines.join('\n') };
}

describe('CLI over a hostile data directory: no terminal control sequence reaches the terminal', () => {
  it('ls, show, quarantine ls print control characters as visible escapes', async () => {
    const dir = await tempDir('xr-cli-hostile-');
    const registry = createRegistry({ machines: { plain }, store: new FileStore({ dir }) });
    await registry.start();
    await registry.spawnSingleton('plain', ID);
    await registry.close();
    const [file] = await readdir(join(dir, 'instances'));
    const path = join(dir, 'instances', file as string);
    const record = JSON.parse(await readFile(path, 'utf8'));
    await writeFile(path, JSON.stringify({ ...record, type: TITLE }));
    const aside = `evil${TITLE}.json.2026-01-01T00-00-00-000Z.k1.json`;
    await writeFile(join(dir, 'quarantine', aside), JSON.stringify({ id: `q${TITLE}` }));
    await writeFile(
      join(dir, 'quarantine', `evil${TITLE}.json.2026-01-01T00-00-00-000Z.k1.reason.txt`),
      `bad\r${TITLE}`,
    );

    for (const argv of [['ls'], ['show', ID], ['quarantine', 'ls'], ['ls', '--json']]) {
      const { code, text } = await run('--store', dir, ...argv);
      expect(code, argv.join(' ')).toBe(0);
      expect(text, argv.join(' ')).not.toMatch(ACTIVE);
    }
    expect((await run('--store', dir, 'ls')).text).toContain('\\u001b]0;PWNED\\u0007');
    expect((await run('--store', dir, 'ls')).text).toContain('csi\\u009b2J');
    // --json stays JSON, and reads back the same strings.
    const json = JSON.parse((await run('--store', dir, 'ls', '--json')).text);
    expect([json.id, json.type]).toEqual([ID, TITLE]);
  });
});
