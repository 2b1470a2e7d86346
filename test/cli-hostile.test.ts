import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { runCli } from '../src/cli/run-cli.js';
import { createRegistry, FileStore } from '../src/index.js';
import { fileNameFor } from '../src/stores/file-name.js';
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

// Found by an attack on the CLI: each of these printed a forged line, failed
// the whole command, listed a copy as the real record, or did what was not asked.
describe('CLI over a hostile data directory: what it prints is what is stored, and it does only what is asked', () => {
  const counter = setup({}).createMachine({
    id: 'counter',
    initial: 'a',
    states: { a: { on: { '*': 'a' } } },
  });

  async function storeWith(ids: string[], history = false) {
    const dir = await tempDir('xr-cli-hostile2-');
    const registry = createRegistry({
      machines: { counter },
      store: new FileStore({ dir }),
      ...(history ? { history: {} } : {}),
    });
    await registry.start();
    for (const id of ids) await registry.spawnSingleton('counter', id);
    return { dir, registry };
  }
  const fileOf = (dir: string, id: string) => join(dir, 'instances', fileNameFor(id));

  it('history: an event type holding tabs and newlines prints as one line of five fields; a time no date holds prints as a number', async () => {
    const { dir, registry } = await storeWith(['h/1'], true);
    await registry.send('h/1', { type: 'X\n99\t2000-01-01T00:00:00.000Z\tadmin\tAPPROVE_ALL' });
    await registry.send('h/1', { type: 'Y' });
    await registry.close();
    const { code, text } = await run('--store', dir, 'history', 'h/1');
    expect(code).toBe(0);
    const lines = text.split('\n');
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line.split('\t')).toHaveLength(5);
    expect(lines[0]).toContain('X\\u000a99\\u00092000');
    // A tampered time: the whole command failed with "Invalid time value", and no code.
    const record = JSON.parse(await readFile(fileOf(dir, 'h/1'), 'utf8'));
    record.history.entries[0].at = 1e300;
    await writeFile(fileOf(dir, 'h/1'), JSON.stringify(record));
    const tampered = await run('--store', dir, 'history', 'h/1');
    expect(tampered.code).toBe(0);
    expect(tampered.text.split('\n')[0]?.split('\t')[1]).toBe('1e+300');
  });

  it('quarantine ls: a set-aside file whose name holds no real date is listed with the rest', async () => {
    const { dir, registry } = await storeWith([]);
    await registry.close();
    for (const name of [
      'x.json.2026-13-45T99-99-99-999Z.zz',
      'y.json.2026-01-01T00-00-00-000Z.k1',
    ]) {
      await writeFile(join(dir, 'quarantine', `${name}.json`), '{}');
      await writeFile(join(dir, 'quarantine', `${name}.reason.txt`), 'why');
    }
    const human = await run('--store', dir, 'quarantine', 'ls');
    expect(human.code).toBe(0);
    expect(human.text).toMatch(/x\.json\.2026-13-45/);
    expect(human.text).toMatch(/y\.json\.2026-01-01/);
    const json = await run('--store', dir, 'quarantine', 'ls', '--json');
    expect(json.code).toBe(0);
    expect(json.text.split('\n').map((l) => JSON.parse(l).key)).toHaveLength(2);
  });

  it("a copy of a record under another ID's name is never listed or shown as that ID; purge --force removes it", async () => {
    const { dir, registry } = await storeWith(['a/1']);
    await registry.close();
    await writeFile(fileOf(dir, 'copy'), await readFile(fileOf(dir, 'a/1'), 'utf8'));
    const ls = await run('--store', dir, 'ls', '--json');
    expect(ls.code).toBe(0);
    const listed = ls.text.split('\n').filter((l) => l.startsWith('{'));
    expect(listed.map((l) => JSON.parse(l).id)).toEqual(['a/1']);
    expect(ls.text).toMatch(/skipped .*holds instance 'a\/1''s record but is not its file/);
    const show = await run('--store', dir, 'show', 'copy');
    expect(show).toMatchObject({
      code: 1,
      text: expect.stringMatching(/^error CORRUPT_RECORD: .*instance 'a\/1''s/),
    });
    const purge = await run('--store', dir, 'purge', 'copy');
    expect(purge).toMatchObject({
      code: 1,
      text: expect.stringMatching(/purge --force removes it/),
    });
    expect(await run('--store', dir, 'purge', 'copy', '--force')).toMatchObject({ code: 0 });
    expect(existsSync(fileOf(dir, 'copy'))).toBe(false);
    expect(existsSync(fileOf(dir, 'a/1'))).toBe(true);
    // A record that does not parse: the same.
    await writeFile(fileOf(dir, 'broken'), '{"trunc');
    expect(await run('--store', dir, 'purge', 'broken')).toMatchObject({
      code: 1,
      text: expect.stringMatching(
        /^error CORRUPT_RECORD: (?!.*was moved aside).*purge --force removes it/,
      ),
    });
    expect(await run('--store', dir, 'purge', 'broken', '--force')).toMatchObject({ code: 0 });
    expect(existsSync(fileOf(dir, 'broken'))).toBe(false);
  });

  it('refuses what it would not do as written: extra IDs, a repeated option, a limit not in digits', async () => {
    const { dir, registry } = await storeWith(['p/1', 'p/2']);
    await registry.close();
    for (const argv of [
      ['--store', dir, 'purge', 'p/1', 'p/2', '--force'],
      ['--store', dir, '--store', '/nowhere', 'ls'],
      ['--store', dir, 'ls', '--limit', '1e3'],
      ['--store', dir, 'ls', '--limit', ' 0x2 '],
      ['--store', dir, 'ls', '--limit', '1.0'],
      ['--store', dir, 'ls', '--bogus'],
    ]) {
      const r = await run(...argv);
      expect(r, argv.join(' ')).toMatchObject({
        code: 2,
        text: expect.stringMatching(/^error INVALID_ARGUMENT: /),
      });
    }
    expect(existsSync(fileOf(dir, 'p/1'))).toBe(true);
    expect(existsSync(fileOf(dir, 'p/2'))).toBe(true);
  });

  it('every failure says `error CODE:`; one huge type does not widen every row', async () => {
    const { dir, registry } = await storeWith(['w/1', 'w/2']);
    await registry.close();
    const record = JSON.parse(await readFile(fileOf(dir, 'w/1'), 'utf8'));
    await writeFile(fileOf(dir, 'w/1'), JSON.stringify({ ...record, type: 'T'.repeat(200_000) }));
    const ls = await run('--store', dir, 'ls');
    expect(ls.code).toBe(0);
    expect(ls.text.length).toBeLessThan(1_000);
    // `instances` a file: the listing's ENOTDIR printed as "error: ..." without a code.
    const odd = await tempDir('xr-cli-odd-');
    await writeFile(join(odd, 'instances'), '');
    const r = await run('--store', odd, 'ls');
    expect(r).toMatchObject({ code: 1, text: expect.stringMatching(/^error [A-Z_]+: /) });
  });
});
