// One conformance suite for RunStorage (src/storage/types.ts), run against every storage: memory,
// IndexedDB (fake-indexeddb, a fresh factory per storage, no globals) and the Node folder storage.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { IDBFactory, IDBObjectStore } from 'fake-indexeddb';
import { indexedDbStorage } from '../src/storage/indexeddb';
import { memoryStorage } from '../src/storage/memory';
import { nodeStorage } from '../src/storage/node';
import { readText } from '../src/storage/types';
import type { RunStorage, StorageFile } from '../src/storage/types';

const encode = (s: string): Uint8Array => new TextEncoder().encode(s);
/** Plain arrays, so bytes compare the same whatever realm their Uint8Array comes from. */
const bytesOf = (b: Uint8Array | undefined): number[] | undefined => (b === undefined ? undefined : Array.from(b));

/** Everything in the storage: path → bytes (as arrays), and every folder. */
async function snapshot(storage: RunStorage, folder = ''): Promise<Record<string, number[] | 'folder'>> {
  const out: Record<string, number[] | 'folder'> = {};
  for (const name of await storage.list(folder)) {
    const p = folder === '' ? name : `${folder}/${name}`;
    if ((await storage.kind(p)) === 'folder') {
      out[p] = 'folder';
      Object.assign(out, await snapshot(storage, p));
    } else {
      out[p] = bytesOf(await storage.read(p))!;
    }
  }
  return out;
}

function conformance(name: string, make: () => RunStorage | Promise<RunStorage>): void {
  describe(`RunStorage conformance: ${name}`, () => {
    let s: RunStorage;
    beforeEach(async () => {
      s = await make();
    });

    test('location is a non-empty string and describe names the path', () => {
      expect(typeof s.location).toBe('string');
      expect(s.location.length).toBeGreaterThan(0);
      expect(s.describe('checkpoints/epoch-0001')).toContain('checkpoints');
      expect(s.describe('checkpoints/epoch-0001')).toContain('epoch-0001');
      expect(s.describe('metrics.jsonl').startsWith(s.location)).toBe(true);
    });

    test("kind: the root is missing until something is written, then a folder; files, folders and missing paths", async () => {
      expect(await s.kind('')).toBe('missing');
      expect(await s.kind('nothing')).toBe('missing');
      await s.write('a/b/c.txt', 'x');
      expect(await s.kind('')).toBe('folder');
      expect(await s.kind('a')).toBe('folder');
      expect(await s.kind('a/b')).toBe('folder');
      expect(await s.kind('a/b/c.txt')).toBe('file');
      expect(await s.kind('a/b/c')).toBe('missing');
      expect(await s.kind('a/nothing')).toBe('missing');
      expect(await s.kind('nothing')).toBe('missing');
    });

    test('list: direct children (files and folders) sorted; [] for a missing folder', async () => {
      expect(await s.list('')).toEqual([]);
      expect(await s.list('nothing')).toEqual([]);
      for (const p of ['b.txt', 'a.txt', 'B.txt', 'c/d.txt', 'c/e/f.txt', '10.txt', '9.txt']) await s.write(p, p);
      expect(await s.list('')).toEqual(['10.txt', '9.txt', 'B.txt', 'a.txt', 'b.txt', 'c']);
      expect(await s.list('c')).toEqual(['d.txt', 'e']);
      expect(await s.list('c/e')).toEqual(['f.txt']);
      expect(await s.list('nothing')).toEqual([]);
      expect(await s.list('c/nothing')).toEqual([]);
    });

    test('write/read round-trips bytes', async () => {
      const bytes = new Uint8Array(256).map((_, i) => i);
      await s.write('bin/all.bin', bytes);
      expect(bytesOf(await s.read('bin/all.bin'))).toEqual(Array.from(bytes));
      expect(await s.size('bin/all.bin')).toBe(256);
      // A view into a larger buffer stores only its own bytes.
      const view = new Uint8Array([9, 9, 1, 2, 3, 9]).subarray(2, 5);
      await s.write('bin/view.bin', view);
      expect(bytesOf(await s.read('bin/view.bin'))).toEqual([1, 2, 3]);
      await s.write('bin/empty.bin', new Uint8Array(0));
      expect(bytesOf(await s.read('bin/empty.bin'))).toEqual([]);
      expect(await s.kind('bin/empty.bin')).toBe('file');
    });

    test('write/read round-trips strings as UTF-8, non-ASCII included', async () => {
      const text = 'plain ascii\nhéllo wörld — ünïcødé, 日本語, emoji 🎉\n';
      await s.write('notes/text.txt', text);
      expect(bytesOf(await s.read('notes/text.txt'))).toEqual(Array.from(encode(text)));
      expect(await readText(s, 'notes/text.txt')).toBe(text);
      expect(await s.size('notes/text.txt')).toBe(encode(text).byteLength);
    });

    test('read and size of a missing file are undefined', async () => {
      expect(await s.read('nothing.txt')).toBeUndefined();
      expect(await s.size('nothing.txt')).toBeUndefined();
      await s.write('a/x.txt', 'x');
      expect(await s.read('a/nothing.txt')).toBeUndefined();
      expect(await s.size('a/nothing.txt')).toBeUndefined();
    });

    test('write replaces the whole file', async () => {
      await s.write('summary.json', 'a much longer first version of the file');
      await s.write('summary.json', 'short');
      expect(await readText(s, 'summary.json')).toBe('short');
      expect(await s.size('summary.json')).toBe(5);
      await s.write('summary.json', new Uint8Array([1, 2]));
      expect(bytesOf(await s.read('summary.json'))).toEqual([1, 2]);
    });

    test('size counts bytes, not characters', async () => {
      await s.write('s.txt', 'é€🎉');
      expect(await s.size('s.txt')).toBe(2 + 3 + 4);
    });

    test('append creates a missing file, then appends', async () => {
      await s.makeFolder('logs');
      await s.append('logs/metrics.jsonl', '{"epoch":1}\n');
      expect(await s.kind('logs/metrics.jsonl')).toBe('file');
      expect(await readText(s, 'logs/metrics.jsonl')).toBe('{"epoch":1}\n');
      await s.append('logs/metrics.jsonl', '{"épöch":2}\n');
      expect(await readText(s, 'logs/metrics.jsonl')).toBe('{"epoch":1}\n{"épöch":2}\n');
      await s.write('root.log', 'a');
      await s.append('root.log', 'b');
      expect(await readText(s, 'root.log')).toBe('ab');
    });

    test('truncate keeps the first n bytes; no-op when shorter or missing', async () => {
      await s.write('m.jsonl', 'line 1\nline 2\n');
      await s.truncate('m.jsonl', 100);
      expect(await readText(s, 'm.jsonl')).toBe('line 1\nline 2\n');
      await s.truncate('m.jsonl', 7);
      expect(await readText(s, 'm.jsonl')).toBe('line 1\n');
      expect(await s.size('m.jsonl')).toBe(7);
      await s.truncate('m.jsonl', 7);
      expect(await readText(s, 'm.jsonl')).toBe('line 1\n');
      await s.truncate('m.jsonl', 0);
      expect(await s.kind('m.jsonl')).toBe('file');
      expect(await s.size('m.jsonl')).toBe(0);
      await s.truncate('nothing.jsonl', 3);
      expect(await s.kind('nothing.jsonl')).toBe('missing');
    });

    test('writeFolder creates a folder (and its parents) holding exactly the files, in the order given', async () => {
      const seen: string[] = [];
      const files: StorageFile[] = [
        { name: 'model.json', data: '{"format":"layers-model"}' },
        { name: 'weights.bin', data: new Uint8Array([1, 2, 3, 4]) },
        { name: 'état.json', data: '{"é":1}' },
      ];
      await s.writeFolder('checkpoints/epoch-0001', files, { onFileWritten: (n) => void seen.push(n) });
      expect(seen).toEqual(['model.json', 'weights.bin', 'état.json']);
      expect(await s.kind('checkpoints/epoch-0001')).toBe('folder');
      expect(await s.list('checkpoints/epoch-0001')).toEqual(['model.json', 'weights.bin', 'état.json'].sort());
      expect(await readText(s, 'checkpoints/epoch-0001/model.json')).toBe('{"format":"layers-model"}');
      expect(bytesOf(await s.read('checkpoints/epoch-0001/weights.bin'))).toEqual([1, 2, 3, 4]);
      expect(await readText(s, 'checkpoints/epoch-0001/état.json')).toBe('{"é":1}');
      expect(await s.list('checkpoints')).toEqual(['epoch-0001']);
    });

    test("writeFolder replaces a folder's old content (files and subfolders) but not its siblings", async () => {
      await s.write('checkpoints/epoch-0001/old.bin', new Uint8Array([7]));
      await s.write('checkpoints/epoch-0001/model.json', 'old model');
      await s.write('checkpoints/epoch-0001/sub/deep.txt', 'deep');
      await s.makeFolder('checkpoints/epoch-0001/empty');
      await s.write('checkpoints/epoch-0002/model.json', 'sibling');
      await s.write('checkpoints/epoch-00010/model.json', 'prefix sibling');
      await s.write('checkpoints/epoch-0001.json', 'a file named like the folder');
      await s.write('metrics.jsonl', 'm');

      await s.writeFolder('checkpoints/epoch-0001', [
        { name: 'model.json', data: 'new model' },
        { name: 'weights.bin', data: new Uint8Array([5, 6]) },
      ]);
      expect(await s.list('checkpoints/epoch-0001')).toEqual(['model.json', 'weights.bin']);
      expect(await readText(s, 'checkpoints/epoch-0001/model.json')).toBe('new model');
      expect(await s.kind('checkpoints/epoch-0001/old.bin')).toBe('missing');
      expect(await s.kind('checkpoints/epoch-0001/sub')).toBe('missing');
      expect(await s.read('checkpoints/epoch-0001/sub/deep.txt')).toBeUndefined();
      expect(await s.kind('checkpoints/epoch-0001/empty')).toBe('missing');
      expect(await readText(s, 'checkpoints/epoch-0002/model.json')).toBe('sibling');
      expect(await readText(s, 'checkpoints/epoch-00010/model.json')).toBe('prefix sibling');
      expect(await readText(s, 'checkpoints/epoch-0001.json')).toBe('a file named like the folder');
      expect(await readText(s, 'metrics.jsonl')).toBe('m');
      expect(await s.list('checkpoints')).toEqual(['epoch-0001', 'epoch-0001.json', 'epoch-00010', 'epoch-0002']);

      // An empty file list leaves an empty folder.
      await s.writeFolder('checkpoints/epoch-0002', []);
      expect(await s.kind('checkpoints/epoch-0002')).toBe('folder');
      expect(await s.list('checkpoints/epoch-0002')).toEqual([]);
    });

    for (const how of ['throws', 'rejects'] as const) {
      test(`writeFolder whose onFileWritten ${how} on the 2nd file keeps the old folder byte-identical, nothing new visible`, async () => {
        await s.write('checkpoints/epoch-0001/model.json', 'old model');
        await s.write('checkpoints/epoch-0001/weights.bin', new Uint8Array([1, 2, 3]));
        await s.write('checkpoints/epoch-0001/sub/x.txt', 'x');
        await s.write('checkpoints/epoch-0002/model.json', 'sibling');
        const before = await snapshot(s);
        const parentBefore = await s.list('checkpoints');

        const files: StorageFile[] = [
          { name: 'model.json', data: 'NEW model' },
          { name: 'weights.bin', data: new Uint8Array([9, 9, 9, 9]) },
          { name: 'extra.txt', data: 'should never appear' },
        ];
        let calls = 0;
        const onFileWritten =
          how === 'throws'
            ? (_: string): void => {
                if (++calls === 2) throw new Error('killed after the 2nd file');
              }
            : async (_: string): Promise<void> => {
                await new Promise((r) => setTimeout(r, 5));
                if (++calls === 2) throw new Error('killed after the 2nd file');
              };
        await expect(s.writeFolder('checkpoints/epoch-0001', files, { onFileWritten })).rejects.toThrow('killed after the 2nd file');
        expect(calls).toBe(2);

        expect(await snapshot(s)).toEqual(before);
        expect(await s.list('checkpoints')).toEqual(parentBefore);
        expect(await s.list('checkpoints/epoch-0001')).toEqual(['model.json', 'sub', 'weights.bin']);
        expect(await readText(s, 'checkpoints/epoch-0001/model.json')).toBe('old model');
        expect(bytesOf(await s.read('checkpoints/epoch-0001/weights.bin'))).toEqual([1, 2, 3]);
        expect(await s.read('checkpoints/epoch-0001/extra.txt')).toBeUndefined();

        // A folder that did not exist stays missing.
        calls = 0;
        await expect(s.writeFolder('checkpoints/epoch-0003', files, { onFileWritten })).rejects.toThrow('killed after the 2nd file');
        expect(await s.kind('checkpoints/epoch-0003')).toBe('missing');
        expect(await s.read('checkpoints/epoch-0003/model.json')).toBeUndefined();
        expect(await s.list('checkpoints')).toEqual(parentBefore);
        expect(await snapshot(s)).toEqual(before);
      });
    }

    test('remove: a file, a folder with everything in it; no-op when missing', async () => {
      await s.write('a/b/c.txt', 'c');
      await s.write('a/d.txt', 'd');
      await s.write('ab.txt', 'prefix sibling');
      await s.write('keep.txt', 'k');
      await s.remove('a/d.txt');
      expect(await s.kind('a/d.txt')).toBe('missing');
      expect(await s.kind('a/b/c.txt')).toBe('file');
      await s.remove('a');
      expect(await s.kind('a')).toBe('missing');
      expect(await s.kind('a/b')).toBe('missing');
      expect(await s.read('a/b/c.txt')).toBeUndefined();
      expect(await s.list('')).toEqual(['ab.txt', 'keep.txt']);
      await expect(s.remove('a')).resolves.toBeUndefined();
      await expect(s.remove('never/was/here.txt')).resolves.toBeUndefined();
      expect(await s.list('')).toEqual(['ab.txt', 'keep.txt']);
    });

    test('makeFolder makes an empty folder (and parents); no-op when it exists', async () => {
      await s.makeFolder('x/y');
      expect(await s.kind('')).toBe('folder');
      expect(await s.kind('x')).toBe('folder');
      expect(await s.kind('x/y')).toBe('folder');
      expect(await s.list('x/y')).toEqual([]);
      expect(await s.list('x')).toEqual(['y']);
      await s.write('x/y/f.txt', 'f');
      await s.makeFolder('x/y');
      expect(await s.list('x/y')).toEqual(['f.txt']);
      expect(await readText(s, 'x/y/f.txt')).toBe('f');
    });

    test("makeFolder('') makes the root", async () => {
      expect(await s.kind('')).toBe('missing');
      await s.makeFolder('');
      expect(await s.kind('')).toBe('folder');
      expect(await s.list('')).toEqual([]);
    });

    test('a file where a folder is needed, or a folder where a file is, is refused and changes nothing', async () => {
      await s.write('a', 'file');
      await s.makeFolder('d');
      const before = await snapshot(s);
      await expect(s.write('a/b.txt', 'x')).rejects.toThrow();
      await expect(s.makeFolder('a/b')).rejects.toThrow();
      await expect(s.makeFolder('a')).rejects.toThrow();
      await expect(s.write('d', 'x')).rejects.toThrow();
      expect(await snapshot(s)).toEqual(before);
      expect(await readText(s, 'a')).toBe('file');
    });

    test('read returns a copy: changing it (or the written bytes) does not change the file', async () => {
      const data = new Uint8Array([1, 2, 3]);
      await s.write('f.bin', data);
      data[0] = 99;
      const first = (await s.read('f.bin'))!;
      expect(Array.from(first)).toEqual([1, 2, 3]);
      first[1] = 42;
      first.fill(0);
      expect(bytesOf(await s.read('f.bin'))).toEqual([1, 2, 3]);
    });
  });
}

// --- memory ---------------------------------------------------------------------------------

conformance('memoryStorage', () => memoryStorage('test'));

describe('memoryStorage specifics', () => {
  test('location memory://<name>, default name', () => {
    expect(memoryStorage('demo').location).toBe('memory://demo');
    expect(memoryStorage().location).toMatch(/^memory:\/\/.+/);
    expect(memoryStorage('demo').describe('a/b.txt')).toBe('memory://demo/a/b.txt');
    expect(memoryStorage('demo').describe('')).toBe('memory://demo');
  });

  test('paths are normalised: no leading or trailing slash, empty and . segments dropped', async () => {
    const s = memoryStorage();
    await s.write('a//b/./c.txt', 'c');
    expect(await readText(s, 'a/b/c.txt')).toBe('c');
    expect(await s.list('a/b/')).toEqual(['c.txt']);
    expect(await s.kind('a/')).toBe('folder');
  });

  test("'..' and absolute paths are refused with an error naming the path", async () => {
    const s = memoryStorage('demo');
    await expect(s.write('../outside.txt', 'x')).rejects.toThrow(/'\.\.\/outside\.txt'.*memory:\/\/demo|memory:\/\/demo.*'\.\.\/outside\.txt'/);
    await expect(s.read('a/../../b')).rejects.toThrow("'a/../../b'");
    await expect(s.write('/etc/passwd', 'x')).rejects.toThrow("'/etc/passwd' is an absolute path");
    await expect(s.kind('C:\\x')).rejects.toThrow('absolute');
    expect(await s.kind('')).toBe('missing');
  });

  test('files() exports every file as a copy, sorted by path', async () => {
    const s = memoryStorage();
    await s.write('b.txt', 'b');
    await s.write('a/x.bin', new Uint8Array([1]));
    await s.makeFolder('empty');
    const files = s.files();
    expect([...files.keys()]).toEqual(['a/x.bin', 'b.txt']);
    files.get('a/x.bin')![0] = 9;
    expect(bytesOf(await s.read('a/x.bin'))).toEqual([1]);
  });

  test('a file where a folder is needed (and the reverse) is an error naming both', async () => {
    const s = memoryStorage('demo');
    await s.write('a', 'file');
    await expect(s.write('a/b.txt', 'x')).rejects.toThrow('memory://demo/a is a file');
    await expect(s.makeFolder('a')).rejects.toThrow('memory://demo/a is a file');
    await s.makeFolder('d');
    await expect(s.write('d', 'x')).rejects.toThrow('memory://demo/d is a folder');
    await expect(s.writeFolder('f', [{ name: 'x/y', data: '' }])).rejects.toThrow("'x/y' is not a file name");
    expect(await s.kind('f')).toBe('missing');
  });
});

// --- IndexedDB (fake-indexeddb) -------------------------------------------------------------

conformance('indexedDbStorage', () => indexedDbStorage({ run: 'test', indexedDB: new IDBFactory() }));

describe('indexedDbStorage specifics', () => {
  test('location indexeddb://<database>/<run>, default database', () => {
    const factory = new IDBFactory();
    expect(indexedDbStorage({ database: 'db', run: 'r1', indexedDB: factory }).location).toBe('indexeddb://db/r1');
    expect(indexedDbStorage({ run: 'r1', indexedDB: factory }).location).toMatch(/^indexeddb:\/\/[^/]+\/r1$/);
    expect(indexedDbStorage({ database: 'db', run: 'r1', indexedDB: factory }).describe('a/b')).toBe('indexeddb://db/r1/a/b');
  });

  test('without an IndexedDB (Node, no polyfill) it says what is missing', () => {
    expect((globalThis as { indexedDB?: unknown }).indexedDB).toBeUndefined();
    expect(() => indexedDbStorage({ run: 'r' })).toThrow(/globalThis\.indexedDB.*options\.indexedDB/);
  });

  test('two runs in one database never see each other', async () => {
    const factory = new IDBFactory();
    const a = indexedDbStorage({ database: 'shared', run: 'run', indexedDB: factory });
    const b = indexedDbStorage({ database: 'shared', run: 'run2', indexedDB: factory });
    const c = indexedDbStorage({ database: 'shared', run: 'run/sub', indexedDB: factory });
    await a.write('metrics.jsonl', 'a');
    await a.writeFolder('checkpoints/epoch-0001', [{ name: 'model.json', data: 'a' }]);
    expect(await b.kind('')).toBe('missing');
    expect(await c.kind('')).toBe('missing');
    expect(await b.list('')).toEqual([]);
    expect(await c.read('metrics.jsonl')).toBeUndefined();
    expect(await c.kind('sub')).toBe('missing');
    await b.write('metrics.jsonl', 'b');
    await c.write('metrics.jsonl', 'c');
    await b.writeFolder('', [{ name: 'only.txt', data: 'b' }]);
    await c.remove('');
    expect(await readText(a, 'metrics.jsonl')).toBe('a');
    expect(await a.list('')).toEqual(['checkpoints', 'metrics.jsonl']);
    expect(await b.list('')).toEqual(['only.txt']);
    expect(await c.kind('')).toBe('missing');
    await a.remove('');
    expect(await a.kind('')).toBe('missing');
    expect(await readText(b, 'only.txt')).toBe('b');
  });

  test('a second storage over the same database and run sees what the first wrote', async () => {
    const factory = new IDBFactory();
    const first = indexedDbStorage({ database: 'persist', run: 'r', indexedDB: factory });
    await first.write('summary.json', '{"ok":true}');
    await first.writeFolder('checkpoints/epoch-0001', [{ name: 'weights.bin', data: new Uint8Array([4, 5]) }]);
    await first.makeFolder('empty');
    first.close();
    const second = indexedDbStorage({ database: 'persist', run: 'r', indexedDB: factory });
    expect(await readText(second, 'summary.json')).toBe('{"ok":true}');
    expect(bytesOf(await second.read('checkpoints/epoch-0001/weights.bin'))).toEqual([4, 5]);
    expect(await second.list('')).toEqual(['checkpoints', 'empty', 'summary.json']);
    // Both connections open at once work too.
    const third = indexedDbStorage({ database: 'persist', run: 'r', indexedDB: factory });
    await third.append('summary.json', '\n');
    expect(await readText(second, 'summary.json')).toBe('{"ok":true}\n');
  });

  test('a database that exists without the store is upgraded, its other stores kept', async () => {
    const factory = new IDBFactory();
    await new Promise<void>((resolve, reject) => {
      const req = factory.open('theirs', 3);
      req.onupgradeneeded = () => req.result.createObjectStore('other');
      req.onsuccess = () => {
        req.result.close();
        resolve();
      };
      req.onerror = () => reject(req.error);
    });
    const s = indexedDbStorage({ database: 'theirs', run: 'r', indexedDB: factory });
    await s.write('a.txt', 'a');
    expect(await readText(s, 'a.txt')).toBe('a');
    s.close();
    const names = await new Promise<string[]>((resolve, reject) => {
      const req = factory.open('theirs');
      req.onsuccess = () => {
        const list = Array.from(req.result.objectStoreNames);
        expect(req.result.version).toBe(4);
        req.result.close();
        resolve(list);
      };
      req.onerror = () => reject(req.error);
    });
    expect(names.sort()).toEqual(['entries', 'other']);
  });

  test('the database is opened lazily, once', async () => {
    const factory = new IDBFactory();
    const open = jest.spyOn(factory, 'open');
    const s = indexedDbStorage({ database: 'lazy', run: 'r', indexedDB: factory });
    expect(open).not.toHaveBeenCalled();
    await Promise.all([s.kind(''), s.write('a.txt', 'a'), s.list('')]);
    await s.writeFolder('f', [{ name: 'x', data: 'x' }]);
    await s.read('a.txt');
    expect(open).toHaveBeenCalledTimes(1);
  });

  test('writeFolder is one transaction: a failure while putting the new files keeps the old folder', async () => {
    const s = indexedDbStorage({ database: 'db', run: 'r', indexedDB: new IDBFactory() });
    await s.writeFolder('checkpoints/epoch-0001', [
      { name: 'model.json', data: 'old' },
      { name: 'weights.bin', data: new Uint8Array([1]) },
    ]);
    const before = await snapshot(s);
    const realPut = IDBObjectStore.prototype.put;
    let puts = 0;
    const put = jest.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (this: IDBObjectStore, ...args) {
      const value: unknown = args[0];
      if (ArrayBuffer.isView(value) && ++puts === 2) throw new Error('quota exceeded (simulated)');
      return realPut.apply(this, args);
    });
    try {
      await expect(
        s.writeFolder('checkpoints/epoch-0001', [
          { name: 'model.json', data: 'new' },
          { name: 'weights.bin', data: new Uint8Array([2]) },
          { name: 'extra.txt', data: 'x' },
        ]),
      ).rejects.toThrow('quota exceeded (simulated)');
    } finally {
      put.mockRestore();
    }
    expect(puts).toBe(2);
    expect(await snapshot(s)).toEqual(before);
  });

  test("'..' and absolute paths are refused with an error naming the path", async () => {
    const s = indexedDbStorage({ database: 'db', run: 'r', indexedDB: new IDBFactory() });
    await expect(s.write('../x', 'x')).rejects.toThrow("'../x'");
    await expect(s.list('/abs')).rejects.toThrow("'/abs' is an absolute path");
  });
});

// --- Node folder --------------------------------------------------------------------------

const tempRoots: string[] = [];
afterAll(() => {
  for (const root of tempRoots) rmSync(root, { recursive: true, force: true });
});

conformance('nodeStorage', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'supcon-storage-'));
  tempRoots.push(root);
  // A folder not there yet, so the root starts missing as in the other storages.
  return nodeStorage(path.join(root, 'run'));
});
