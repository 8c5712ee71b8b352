/**
 * The folders a training run keeps its trainer's files in (NumPy arrays of patient data, the spec,
 * the exported model), and how those arrays reach the PyTorch trainer.
 *
 * - A run folder sits under the data folder (`<dataDir>/tmp/training`, mode 0700), named after its
 *   job and process id. It is removed when the run ends; a folder left by a killed process (its
 *   pid is dead) is swept when the server starts and on every job heartbeat.
 * - The arrays are never left on a path: just before the trainer starts, each file is opened and
 *   unlinked, and the trainer reads it through an inherited descriptor (`/dev/fd/N`). The data
 *   disappears with the last process holding it, however the run ends.
 * - With a master key (encryption at rest), the arrays are written on a memory file system
 *   (`/dev/shm`) when there is one, so patient data is never plaintext on disk; Python's standard
 *   library has no AES, so encrypting them for the trainer would add a dependency.
 */
import { closeSync, existsSync, openSync, rmSync, unlinkSync } from 'node:fs';
import { access, constants, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';

const MEMORY_ROOT = '/dev/shm';
const RUN_PREFIX = 'galen-';
const INPUTS_PREFIX = 'galen-inputs-';

/** Where a process keeps its run folders. */
export interface WorkPlace {
  /** The folder run folders are made in (default: the system's temporary folder). */
  root?: string | undefined;
  /** Keep the arrays off disk (a master key is set): on `/dev/shm` when there is one. */
  memoryBacked?: boolean | undefined;
}

/** The run folders under a data folder. */
export const trainingWorkRoot = (dataDir: string): string => join(dataDir, 'tmp', 'training');

const owned = new Set<string>();

async function makeDir(root: string, prefix: string): Promise<string> {
  await mkdir(root, { recursive: true, mode: 0o700 });
  // mkdtemp makes the folder 0700 whatever the umask.
  const dir = await mkdtemp(join(root, prefix));
  owned.add(dir);
  return dir;
}

/**
 * A run folder for one run's spec and exported model, named after its job and this process (so
 * a sweep can tell a live run from a dead one). Removed by {@link removeWorkDir}, or
 * {@link removeWorkDirsNow} when the process is stopped mid-run.
 */
export function makeWorkDir(kind: string, job: string | undefined, place: WorkPlace = {}): Promise<string> {
  return makeDir(place.root ?? tmpdir(), `${RUN_PREFIX}${kind}-${job ?? 'local'}-${process.pid}-`);
}

/** Whether `/dev/shm` is a folder this process may write. */
async function memoryRootUsable(): Promise<boolean> {
  try {
    await access(MEMORY_ROOT, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The folder the run's arrays are written to before they are handed over: `work` itself, or with
 * `memoryBacked` a 0700 folder on `/dev/shm` (when it exists).
 */
export async function makeInputsDir(work: string, place: WorkPlace = {}): Promise<string> {
  if (!place.memoryBacked || !(await memoryRootUsable())) return work;
  return makeDir(MEMORY_ROOT, `${INPUTS_PREFIX}${process.pid}-`);
}

export async function removeWorkDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  owned.delete(dir);
}

/** Removes every run folder of this process at once (a cancelled job's process, as it stops). */
export function removeWorkDirsNow(): void {
  for (const dir of owned) rmSync(dir, { recursive: true, force: true });
  owned.clear();
}

/** Files opened for the trainer and already unlinked: its spec names them `/dev/fd/<3 + i>`. */
export interface HandedOver {
  /** Descriptors to pass as the child's fds 3, 4, …; close them once the child has started. */
  fds: number[];
  /** The path the trainer opens for each original path. */
  paths: Map<string, string>;
}

/**
 * Opens each of `files` (relative to `dir`), unlinks it, and says which `/dev/fd/N` path the
 * trainer started with these descriptors (from fd 3) reads it through. A crash from here on leaves
 * no array behind: the kernel frees each file when its last descriptor closes.
 */
export function handOver(dir: string, files: readonly string[]): HandedOver {
  const fds: number[] = [];
  const paths = new Map<string, string>();
  try {
    for (const file of files) {
      if (paths.has(file)) continue;
      const path = isAbsolute(file) ? file : join(dir, file);
      const fd = openSync(path, 'r');
      fds.push(fd);
      unlinkSync(path);
      paths.set(file, `/dev/fd/${2 + fds.length}`);
    }
  } catch (err) {
    closeAll(fds);
    throw err;
  }
  return { fds, paths };
}

export function closeAll(fds: readonly number[]): void {
  for (const fd of fds) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
  }
}

/** The trainer spec's array files: each input's splits (and lengths), and the labels. */
export interface TrainerSpecFiles {
  inputs: Record<string, unknown>[];
  labels: { train: string; validation: string };
}

const ARRAY_KEYS = ['train', 'validation', 'trainLengths', 'validationLengths'] as const;

/**
 * Hands the arrays `spec` names (relative to `arrays`) over as unlinked files and writes the spec
 * to `work`/spec.json naming them `/dev/fd/N`. Start the trainer with `fds` as its descriptors
 * 3, 4, … and close them after: from here on no array has a name on any file system.
 */
export async function writeTrainerSpec(
  work: string,
  arrays: string,
  spec: TrainerSpecFiles & Record<string, unknown>,
): Promise<{ specPath: string; fds: number[] }> {
  const files = [
    ...spec.inputs.flatMap((input) =>
      ARRAY_KEYS.map((key) => input[key]).filter((f): f is string => typeof f === 'string'),
    ),
    spec.labels.train,
    spec.labels.validation,
  ];
  const { fds, paths } = handOver(arrays, files);
  const at = (file: string): string => paths.get(file) ?? file;
  const handed = {
    ...spec,
    inputs: spec.inputs.map((input) => {
      const out = { ...input };
      for (const key of ARRAY_KEYS) if (typeof out[key] === 'string') out[key] = at(out[key]);
      return out;
    }),
    labels: { train: at(spec.labels.train), validation: at(spec.labels.validation) },
  };
  const specPath = join(work, 'spec.json');
  try {
    await writeFile(specPath, JSON.stringify(handed, null, 2));
  } catch (err) {
    closeAll(fds);
    throw err;
  }
  return { specPath, fds };
}

/** Whether process `pid` is alive on this machine. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid in a run folder's name (`galen-<kind>-<job>-<pid>-XXXXXX`), if it has one. */
function pidOf(name: string): number | undefined {
  const match = /-(\d+)-[A-Za-z0-9]{6}$/.exec(name);
  return match ? Number(match[1]) : undefined;
}

/**
 * Removes the run folders under `root` (and the arrays' folders on `/dev/shm`) left by processes
 * that are gone: a job worker killed mid-run. Folders of live processes are kept.
 * @returns the folders removed.
 */
export async function sweepWorkDirs(root: string): Promise<string[]> {
  const removed: string[] = [];
  const sweep = async (folder: string, prefix: string): Promise<void> => {
    if (!existsSync(folder)) return;
    for (const name of await readdir(folder)) {
      if (!name.startsWith(prefix)) continue;
      const pid = pidOf(name);
      if (pid === undefined || pid === process.pid || alive(pid)) continue;
      await rm(join(folder, name), { recursive: true, force: true });
      removed.push(join(folder, name));
    }
  };
  await sweep(root, RUN_PREFIX);
  if (await memoryRootUsable()) await sweep(MEMORY_ROOT, INPUTS_PREFIX);
  return removed;
}
