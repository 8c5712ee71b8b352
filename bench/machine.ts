/** The machine and software a run measured, for the report: CPU, cores, memory, OS, versions. */
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, totalmem, type } from 'node:os';
import { repoPath } from './paths.js';

export interface MachineInfo {
  cpuModel: string;
  /** Logical cores Node may use (`os.availableParallelism()`). */
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  onnxRuntime: string;
  /** Versions of the other packages in the measurement path. */
  packages: Record<string, string>;
  /** 1-minute load average when the run started (others' work shows here). */
  loadAverageAtStart: number;
}

function packageVersion(name: string): string {
  try {
    const manifest = JSON.parse(readFileSync(repoPath('node_modules', name, 'package.json'), 'utf8')) as {
      version?: unknown;
    };
    return typeof manifest.version === 'string' ? manifest.version : 'unknown';
  } catch {
    return 'not installed';
  }
}

function osName(): string {
  try {
    const text = readFileSync('/etc/os-release', 'utf8');
    const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(text)?.[1];
    if (pretty) return `${pretty} (${type()} ${release()})`;
  } catch {
    // not Linux, or no os-release: the kernel name will do
  }
  return `${type()} ${release()}`;
}

export function describeMachine(): MachineInfo {
  return {
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    os: osName(),
    node: process.version,
    onnxRuntime: packageVersion('onnxruntime-node'),
    packages: Object.fromEntries(
      ['fastify', '@grpc/grpc-js', '@grpc/proto-loader', 'autocannon'].map((p) => [p, packageVersion(p)]),
    ),
    loadAverageAtStart: loadavg()[0] ?? 0,
  };
}
