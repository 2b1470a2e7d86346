// A child process for the lock tests. Driven line by line on stdin:
//   open   -> opens a FileStore over DIR, prints `owner` or `locked <code>`
//   close  -> closes it (if it owns it), prints `closed`
//   exit   -> exits
// Started with `hold`, it opens at once, prints `owner` (or `locked`) and waits.
import { createInterface } from 'node:readline';
import { FileStore } from '../../src/index.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: lock-opener.ts DIR [hold]');
let store: FileStore | undefined;

async function open(): Promise<string> {
  const s = new FileStore({ dir: dir as string });
  try {
    await s.open();
    store = s;
    return 'owner';
  } catch (err) {
    if ((err as { code?: string }).code !== 'STORE_LOCKED')
      process.stderr.write(`${(err as Error).stack}
`);
    return `locked ${(err as { code?: string }).code ?? String(err)}`;
  }
}

if (process.argv[3] === 'hold') {
  process.stdout.write(`${await open()}\n`);
  setInterval(() => {}, 1 << 30);
} else {
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'open') process.stdout.write(`${await open()}\n`);
    else if (line === 'close') {
      await store?.close();
      store = undefined;
      process.stdout.write('closed\n');
    } else if (line === 'exit') process.exit(0);
  }
}
