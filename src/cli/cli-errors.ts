/**
 * How the CLI reports failures: one line on stderr, never a stack trace (unless `--debug` or
 * `GALEN_DEBUG=1`). Node's errno errors (a missing file, a busy port, a refused connection) become
 * a sentence naming the path or address; file streams are opened before use so a missing file is
 * a promise rejection instead of an unhandled `'error'` event; outputs are never overwritten
 * unless `--force`.
 */
import { createReadStream, fstat } from 'node:fs';
import type { ReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { GalenError, isGalenError } from '../core/index.js';

/** What each errno code means, in words. */
const ERRNO_TEXT: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a folder',
  ENOTDIR: 'a part of the path is not a folder',
  EEXIST: 'it already exists (use --force to overwrite)',
  ENOSPC: 'no space left on the device',
  EROFS: 'the file system is read-only',
  EMFILE: 'too many open files',
  EADDRINUSE: 'the port is in use',
  EADDRNOTAVAIL: 'no such address on this machine',
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'the connection was reset',
  ENOTFOUND: 'no such host',
  ETIMEDOUT: 'timed out',
};

/** System calls that write; any other file call reads. */
const WRITE_CALLS = new Set(['write', 'mkdir', 'rename', 'unlink', 'copyfile', 'rmdir', 'symlink']);

interface ErrnoError extends Error {
  code: string;
  syscall?: string;
  path?: string;
  address?: string;
  port?: number;
}

function isErrnoError(err: unknown): err is ErrnoError {
  const code: unknown = err instanceof Error ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code);
}

/**
 * The one line for an errno error (`cannot read /nope.csv: no such file`), or undefined when
 * `err` is not one. `verb` overrides the read/write guess from the system call.
 */
export function errnoLine(err: unknown, verb?: 'read' | 'write'): string | undefined {
  if (!isErrnoError(err)) return undefined;
  const what = ERRNO_TEXT[err.code] ?? err.code;
  if (err.path !== undefined) {
    const doing = verb ?? (WRITE_CALLS.has(err.syscall ?? '') || err.code === 'EEXIST' ? 'write' : 'read');
    return `cannot ${doing} ${err.path}: ${what}`;
  }
  if (err.address !== undefined) {
    const where = err.port === undefined ? err.address : `${err.address}:${err.port}`;
    return `cannot ${err.syscall === 'listen' || err.syscall === 'bind' ? 'listen on' : 'connect to'} ${where}: ${what}`;
  }
  return `${err.syscall ?? 'system call'} failed: ${what}`;
}

/** The one line printed for any error that reaches the top-level handler (without `galen: `). */
export function errorLine(err: unknown): string {
  if (isGalenError(err)) return err.message;
  const errno = errnoLine(err);
  if (errno !== undefined) return errno;
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0] ?? message;
}

/** Whether a stack trace was asked for (`--debug` or `GALEN_DEBUG=1`). */
export function debugRequested(argv: readonly string[], env: NodeJS.ProcessEnv): boolean {
  return argv.includes('--debug') || env['GALEN_DEBUG'] === '1' || env['GALEN_DEBUG'] === 'true';
}

/**
 * Opens `file` for reading and resolves once it is open, so a missing or unreadable file rejects
 * here with a clear message instead of surfacing later as an `'error'` event no one listens to
 * (or, in an upload, as a network failure).
 */
export function openInput(file: string): Promise<ReadStream> {
  return new Promise((resolve, reject) => {
    const stream = createReadStream(file);
    const fail = (err: unknown): void => {
      stream.destroy();
      reject(new GalenError('invalid_input', errnoLine(err, 'read') ?? String(err), { cause: err }));
    };
    stream.once('error', fail);
    stream.once('open', (fd: number) => {
      // A folder opens fine and fails only on the first read, where the error names no path.
      fstat(fd, (err, stats) => {
        if (err) return fail(err);
        if (stats.isDirectory())
          return fail(Object.assign(new Error('EISDIR'), { code: 'EISDIR', path: file }));
        stream.off('error', fail);
        resolve(stream);
      });
    });
  });
}

/** Writes `data` to `file`, refusing an existing file unless `force`. */
export async function writeOutput(file: string, data: string | Uint8Array, force: boolean): Promise<void> {
  try {
    await writeFile(file, data, { flag: force ? 'w' : 'wx' });
  } catch (err) {
    const line = errnoLine(err, 'write');
    throw line === undefined ? err : new GalenError('conflict', line, { cause: err });
  }
}
