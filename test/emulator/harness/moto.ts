import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';

/** True when `moto_server` (pip install "moto[server]") is on the PATH. */
export function motoAvailable(): boolean {
  return spawnSync('sh', ['-c', 'command -v moto_server'], { stdio: 'ignore' }).status === 0;
}

/** A free TCP port on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface Moto {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  stop(): Promise<void>;
}

/**
 * moto's public AMIs: one Amazon-owned EBS image, the only one the tests use
 * (the instance they image is launched from it). moto otherwise loads its
 * whole catalogue, and the latest AMIs of each region, into every region a
 * test touches, and scans them on each DescribeImages: this halves the tier's time.
 */
const AMIS_PATH = path.join(__dirname, 'amis.json');

/**
 * moto_server serving EC2 only (moto_ec2.py): a third less of moto's CPU in the emulator tier. It runs
 * `moto_server` itself where `python3` has no moto; without a `python3`, this starts `moto_server`.
 */
const EC2_LAUNCHER = path.join(__dirname, 'moto_ec2.py');

function motoCommand(port: number): [string, string[]] {
  if (spawnSync('sh', ['-c', 'command -v python3'], { stdio: 'ignore' }).status === 0) return ['python3', [EC2_LAUNCHER, '127.0.0.1', String(port)]];
  return ['moto_server', ['-H', '127.0.0.1', '-p', String(port)]];
}

export interface StartingMoto {
  readonly moto: Moto;
  /** Settles once moto answers; rejects (and kills it) if it exits first or does not answer in time. */
  readonly ready: Promise<void>;
}

/**
 * Spawns moto on a free loopback port and returns at once, so the caller can do its own work (the
 * emulator tier synthesizes the app, about 2 s) while moto starts (about 2 s of importing Python).
 */
export async function spawnMoto(timeoutMs = 30_000): Promise<StartingMoto> {
  const port = await freePort();
  const [command, args] = motoCommand(port);
  const proc: ChildProcess = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, MOTO_AMIS_PATH: AMIS_PATH } });
  let stderr = '';
  proc.stderr?.on('data', (chunk) => { stderr = (stderr + String(chunk)).slice(-4000); });
  const endpoint = `http://127.0.0.1:${port}`;
  const ready = (async () => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (proc.exitCode !== null) {
        throw new Error(`${command} ${args[0]} exited with ${proc.exitCode}: ${stderr}`);
      }
      try {
        const response = await fetch(`${endpoint}/moto-api/`);
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`${command} ${args[0]} did not answer on ${endpoint} within ${timeoutMs} ms: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  // Handled here too: a caller whose own work fails first stops moto and never awaits `ready`.
  ready.catch(() => undefined);
  return {
    moto: {
      endpoint,
      stop: () => new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
    },
    ready,
  };
}

/** Starts moto on a free loopback port and waits until it answers. */
export async function startMoto(timeoutMs = 30_000): Promise<Moto> {
  const { moto, ready } = await spawnMoto(timeoutMs);
  await ready;
  return moto;
}
