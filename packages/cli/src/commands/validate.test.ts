import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { main } from '../main';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'supcon-validate-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { print: (l) => out.push(l), printError: (l) => err.push(l) });
  return { code, out, err };
}

function config(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe('supcon validate', () => {
  it('exits 0 with a one-line summary for a valid config', async () => {
    const file = config(
      'ok.yaml',
      'data: { type: fashion-mnist-sample }\nloss: { type: supcon-out }\nbackbone: { type: small-cnn }\ntrain: { epochs: 3, batchSize: 64 }\n',
    );
    const { code, out, err } = await run(['validate', '--config', file]);
    expect(err).toEqual([]);
    expect(code).toBe(0);
    expect(out).toHaveLength(1);
    expect(out[0]).toContain('valid');
    expect(out[0]).toContain('3 epochs of batch 64 x 2 views');
  });

  it('exits 2 naming the path of a wrong type', async () => {
    const file = config('type.yaml', 'train: { epochs: "three", batchSize: 64 }\n');
    const { code, err } = await run(['validate', '--config', file]);
    expect(code).toBe(2);
    expect(err.some((l) => /^\s+train\.epochs: /.test(l))).toBe(true);
  });

  it('suggests the closest name for a typo in a part type', async () => {
    const file = config(
      'typo.yaml',
      'augment: { type: simclrr }\ntrain: { epochs: 1, batchSize: 8 }\n',
    );
    const { code, err } = await run(['validate', '--config', file]);
    expect(code).toBe(2);
    const line = err.find((l) => l.includes('augment'));
    expect(line).toMatch(/augment(\.type)?: .*simclrr/);
    expect(line).toMatch(/did you mean 'simclr'/i);
  });

  it('rejects negative epochs', async () => {
    const file = config('neg.yaml', 'train: { epochs: -1, batchSize: 8 }\n');
    const { code, err } = await run(['validate', '--config', file]);
    expect(code).toBe(2);
    expect(err.find((l) => l.includes('train.epochs'))).toBeDefined();
  });

  it('prints every error, one per line, when there are several', async () => {
    const file = config(
      'many.yaml',
      'seed: -3\ntrain: { epochs: 0, batchSize: 2.5 }\nbackbone: { type: resnet-9000 }\n',
    );
    const { code, err } = await run(['validate', '--config', file]);
    expect(code).toBe(2);
    const issues = err.slice(1);
    expect(err[0]).toMatch(/4 errors/);
    expect(issues).toHaveLength(4);
    for (const key of ['seed', 'train.epochs', 'train.batchSize', 'backbone'])
      expect(issues.some((l) => l.trim().startsWith(key))).toBe(true);
  });

  it('schema prints a JSON Schema with the built-in part names', async () => {
    const { code, out } = await run(['schema']);
    expect(code).toBe(0);
    const schema = JSON.parse(out.join('\n')) as { properties: Record<string, unknown> };
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(['train', 'backbone', 'augment']),
    );
    expect(JSON.stringify(schema.properties.augment)).toContain('simclr');
  });

  it('--help and --version exit 0', async () => {
    const help = await run(['validate', '--help']);
    expect(help.code).toBe(0);
    expect(help.out.join('\n')).toContain('--config');
    const version = await run(['--version']);
    expect(version.code).toBe(0);
    expect(version.out).toEqual([
      (
        JSON.parse(readFileSync(path.join(__dirname, '../../package.json'), 'utf8')) as {
          version: string;
        }
      ).version,
    ]);
  });
});

describe('messages for common mistakes', () => {
  it('names an unknown key inside train, with a suggestion, and no "got nothing" for train', async () => {
    const file = config('epochz.yaml', 'train: { epochz: 2, batchSize: 8 }\n');
    const { code, err } = await run(['validate', '--config', file]);
    expect(code).toBe(2);
    expect(err).toContain("  train.epochz: unknown train key. Did you mean 'epochs'? Known keys: epochs, batchSize, views, memory");
    expect(err.join('\n')).not.toContain('expected { epochs, batchSize, views?, memory? }');
  });

  it('reports a typo in a loss option once', async () => {
    const file = config('temprature.yaml', 'loss: { type: supcon-out, temprature: 0.1 }\ntrain: { epochs: 1, batchSize: 8 }\n');
    const { code, err } = await run(['validate', '--config', file]);
    expect(code).toBe(2);
    expect(err[0]).toMatch(/: 1 error$/);
    expect(err.slice(1).filter((l) => l.includes('temprature'))).toEqual([expect.stringMatching(/^ {2}loss\.temprature: unknown option of loss 'supcon-out'\. Did you mean 'temperature'\?/)]);
  });

  it('says "a list" for a config file that is a YAML list', async () => {
    const file = config('list.yaml', '- train: { epochs: 1 }\n- loss: { type: supcon-out }\n');
    const { code, err } = await run(['validate', '--config', file]);
    expect(code).toBe(2);
    expect(err.join('\n')).toContain('(root): expected the config to be an object (key: value, ...), got a list (array)');
  });

  it('rejects --log-interval that is not a number, naming the option', async () => {
    const file = config('li.yaml', 'train: { epochs: 1, batchSize: 8 }\n');
    const { code, err } = await run(['train', '--config', file, '--log-interval', 'abc']);
    expect(code).toBe(1);
    expect(err[0]).toBe("error: option '--log-interval <seconds>' argument 'abc' is invalid. expected a number of seconds >= 0.");
  });
});
