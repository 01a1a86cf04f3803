/**
 * Writes that fail as on a full disk (ENOSPC) or a read-only one (EROFS), through the built CLI:
 * a run resumed onto such a disk must exit non-zero with a message naming the file, lose nothing
 * it had (every earlier checkpoint file unchanged; the newest still loads), and, the disk fixed,
 * `--resume` must end exactly as an uninterrupted run. Where the machine allows (a private mount
 * namespace: `unshare -rm`, or `unshare -m` as root), the run folder is a small tmpfs, filled up
 * or remounted read-only; the failures are also injected (fs-fault.cjs) so that the cases run on
 * every machine. SUPCON_FAULTS_DISK=inject skips the tmpfs cases. See disk-scenario.mjs.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TINY, baselineRun, checkpointDifferences, pool, stableSummary, writeConfig } from './harness';

interface Run {
  code: number | null;
  signal: string | null;
  stderr: string;
}
interface Report {
  mode: string;
  scenario: string;
  first: Run;
  failed: Run;
  last: Run;
  checkpointsBefore: string[];
  checkpointsAfterFailure: string[];
  unchanged: boolean;
  changedFiles: string[];
  loaded: { dir?: string; weights?: number; optimizer?: string; error?: string };
  freeBytes?: number;
}

/** How this machine can run the child in a private mount namespace (undefined: it cannot). */
function namespacePrefix(): string[] | undefined {
  if (process.env.SUPCON_FAULTS_DISK === 'inject' || process.platform !== 'linux') return undefined;
  const dir = mkdtempSync(path.join(tmpdir(), 'supcon-faults-probe-'));
  const probe = (args: string[]) => spawnSync('unshare', [...args, 'mount', '-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'ignore' }).status === 0;
  try {
    if (probe(['-r', '-m'])) return ['unshare', '-r', '-m'];
    if (process.getuid?.() === 0 && probe(['-m'])) return ['unshare', '-m'];
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const prefix = namespacePrefix();
const SCENARIOS = ['enospc', 'erofs-checkpoints', 'erofs-run'] as const;
const cases = [
  ...(prefix ? SCENARIOS.map((s) => ({ mode: 'tmpfs', scenario: s })) : []),
  ...SCENARIOS.map((s) => ({ mode: 'inject', scenario: s })),
];
const root = mkdtempSync(path.join(tmpdir(), 'supcon-faults-disk-'));
const configFile = writeConfig(root);
const reports = new Map<string, { report: Report; work: string }>();
let baselineDir = '';

function scenario(mode: string, name: string, work: string): Promise<Report> {
  const argv = [...(mode === 'tmpfs' ? prefix! : []), process.execPath, path.join(__dirname, 'disk-scenario.mjs'), mode, name, work, configFile];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (err += String(d)));
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`disk-scenario ${mode} ${name} failed (${code}):\n${err}`));
      else resolve(JSON.parse(out.trim().split('\n').pop()!) as Report);
    });
  });
}

beforeAll(async () => {
  const started = Date.now();
  await pool(
    [
      async () => void (baselineDir = await baselineRun()),
      ...cases.map(({ mode, scenario: name }) => async () => {
        const work = path.join(root, `${mode}-${name}`);
        reports.set(`${mode} ${name}`, { report: await scenario(mode, name, work), work });
      }),
    ],
    2,
  );
  console.log(`disk faults: ${cases.length} scenarios (${prefix ? `tmpfs via ${prefix.join(' ')} and injected` : 'injected only: no private mount namespace here'}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}, 900_000);

// The runs' folders go unless SUPCON_FAULTS_KEEP is set (to look at a failure).
afterAll(() => {
  if (!process.env.SUPCON_FAULTS_KEEP) rmSync(root, { recursive: true, force: true });
});

const PATTERN = { enospc: /ENOSPC|no space left/i, 'erofs-checkpoints': /EROFS|read-only/i, 'erofs-run': /EROFS|read-only/i };

describe('writes that fail with ENOSPC or EROFS', () => {
  it.each(cases.map((c) => [`${c.mode}: ${c.scenario}`, c] as const))('%s', (_name, { mode, scenario: name }) => {
    const { report, work } = reports.get(`${mode} ${name}`)!;
    const runDir = path.join(work, 'mnt', 'run');
    const log = `first:\n${report.first.stderr}\nfailed:\n${report.failed.stderr}\nlast:\n${report.last.stderr}`;
    expect({ signal: report.first.signal, log }).toMatchObject({ signal: 'SIGKILL' });
    expect(report.checkpointsBefore).toEqual(['epoch-0000-step-000003', 'epoch-0000-step-000006']);
    // The resumed run on the bad disk fails, with a message naming the file and the reason.
    expect({ failedCode: report.failed.code === 0 || report.failed.code === null ? 'no failure' : 'failed', log }).toMatchObject({ failedCode: 'failed' });
    expect(report.failed.stderr).toMatch(PATTERN[name]);
    const named = name === 'erofs-run' ? runDir : path.join(runDir, 'checkpoints');
    expect(report.failed.stderr).toContain(named);
    // Nothing earlier is lost: every earlier file is as it was, and the newest checkpoint loads.
    expect(report.changedFiles).toEqual([]);
    expect(report.unchanged).toBe(true);
    expect(report.checkpointsAfterFailure).toEqual(report.checkpointsBefore);
    expect(report.loaded).toMatchObject({ dir: path.join(runDir, 'checkpoints', 'epoch-0000-step-000006'), optimizer: 'SupconSGD' });
    expect(report.loaded.weights).toBeGreaterThan(0);
    // The disk fixed, --resume ends as an uninterrupted run.
    expect({ lastCode: report.last.code, log }).toMatchObject({ lastCode: 0 });
    const result = path.join(work, 'result');
    expect(checkpointDifferences(path.join(result, 'checkpoints', TINY.final), path.join(baselineDir, 'checkpoints', TINY.final))).toEqual([]);
    expect(stableSummary(result)).toEqual(stableSummary(baselineDir));
  });
});
