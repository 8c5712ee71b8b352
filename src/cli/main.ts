#!/usr/bin/env node
/**
 * The `galen` command line: the server and local administration of the data folder. Each
 * command calls the same domain services as the REST API.
 */
import { CommanderError } from 'commander';
import { ConfigError } from '../config/index.js';
import { debugRequested, errorLine } from './cli-errors.js';
import { buildProgram } from './program.js';

const program = buildProgram();

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Commander has printed its line; a usage error exits 2 (as POSIX tools do), help and version 0.
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  } else if (err instanceof ConfigError) {
    console.error(err.message);
    process.exitCode = 78;
  } else {
    // One line for files, ports, servers and bad input alike; the stack only when asked for.
    if (debugRequested(process.argv, process.env)) console.error(err);
    else console.error(`galen: ${errorLine(err)}`);
    process.exitCode = 1;
  }
}
