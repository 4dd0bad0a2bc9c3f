// dataver fsmonitor start|stop|status (and the hidden `run`, the daemon itself).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { DataverError, type Output } from '@dataver/foundation';
import { askMonitor, type MonitorInfo, runMonitorDaemon } from '../../core/fsmonitor.js';
import { openRepo } from './context.js';

const START_TIMEOUT_MS = 10_000;

async function info(root: string): Promise<MonitorInfo | undefined> {
  return (await askMonitor(root, { op: 'info' })) as MonitorInfo | undefined;
}

function describe(i: MonitorInfo): string[] {
  return [
    `fsmonitor running (pid ${i.pid}): ${i.watching.length ? `watching ${i.watching.join(', ')}` : 'no tracked folder asked for yet'} (${i.watches} watched folders, ${i.events} events)`,
    ...(i.trusted
      ? []
      : [`not trusted: it ${i.reason}; status walks the tree until \`dataver fsmonitor stop\` and start`]),
  ];
}

export async function start(output: Output): Promise<number> {
  const repo = await openRepo();
  const running = await info(repo.root);
  if (running) {
    output.result({ started: false, ...running }, () => describe(running));
    return 0;
  }
  const cli = path.join(__dirname, '..', '..', '..', 'bin', 'dataver.js');
  const child = spawn(process.execPath, [cli, 'fsmonitor', 'run'], {
    cwd: repo.root,
    detached: true,
    stdio: 'ignore',
    windowsHide: true,
  });
  child.unref();
  for (const deadline = Date.now() + START_TIMEOUT_MS; Date.now() < deadline; ) {
    const i = await info(repo.root);
    if (i) {
      output.result({ started: true, ...i }, () => [
        `fsmonitor started (pid ${i.pid}); status now asks it what changed`,
      ]);
      return 0;
    }
    if (child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new DataverError('IO', 'the file-system monitor did not start', {
    hint: 'run `dataver fsmonitor run` in the repository to see why',
  });
}

export async function stop(output: Output): Promise<number> {
  const repo = await openRepo();
  const stopped = (await askMonitor(repo.root, { op: 'stop' })) !== undefined;
  output.result({ stopped }, () => (stopped ? 'fsmonitor stopped' : 'fsmonitor is not running'));
  return 0;
}

export async function status(output: Output): Promise<number> {
  const repo = await openRepo();
  const i = await info(repo.root);
  output.result(i ? { running: true, ...i } : { running: false }, () =>
    i ? describe(i) : 'fsmonitor is not running (start it with `dataver fsmonitor start`)',
  );
  return 0;
}

/** The daemon, in the foreground (what `start` runs detached). */
export async function run(): Promise<number> {
  const repo = await openRepo();
  await runMonitorDaemon(repo.root, repo.tmpDir, repo.stateDir);
  return new Promise<number>(() => undefined); // serves until stopped
}
