#!/usr/bin/env node
/**
 * The `galen` command line: the server and local administration of the data folder. Each
 * command calls the same domain services as the REST API.
 */
import { Command, CommanderError } from 'commander';
import { ConfigError, environmentVariables } from '../config/index.js';
import { GALEN_VERSION } from '../core/index.js';
import { cdsCommand } from './cds-command.js';
import { datasetsCommand } from './datasets-command.js';
import { deidCommand } from './deid-command.js';
import { encryptionCommand } from './encryption-command.js';
import { explainCommand } from './explain-command.js';
import { jobsCommand } from './jobs-command.js';
import { trainCommand } from './train-command.js';
import { modelsCommand } from './models-command.js';
import { optimizeCommand } from './optimize-command.js';
import { recommendCommand } from './recommend-command.js';
import { auditCommand, keysCommand } from './keys-command.js';
import type { CliOptions } from './local-context.js';
import { serveCommand } from './serve-command.js';
import { debugRequested, errorLine } from './cli-errors.js';

const program = new Command('galen')
  .description('Galen: clinical prediction models served over the Open Inference Protocol')
  .version(GALEN_VERSION)
  .option('-c, --config <file>', 'JSON config file (or GALEN_CONFIG)')
  .option('--json', 'print results as JSON')
  .option('--debug', 'print stack traces of errors (or GALEN_DEBUG=1)')
  .addHelpText('after', `\nEnvironment variables:\n  ${environmentVariables().join('\n  ')}\n`)
  .exitOverride();

const global = (): CliOptions => program.opts<CliOptions>();
program.addCommand(serveCommand(global));
program.addCommand(modelsCommand(global));
program.addCommand(datasetsCommand(global));
program.addCommand(trainCommand(global));
program.addCommand(jobsCommand(global));
program.addCommand(keysCommand(global));
program.addCommand(auditCommand(global));
program.addCommand(cdsCommand(global));
program.addCommand(explainCommand(global));
program.addCommand(encryptionCommand(global));
program.addCommand(deidCommand(global));
program.addCommand(optimizeCommand(global));
program.addCommand(recommendCommand(global));

// Added commands do not inherit exitOverride: without it on each, their usage errors exit directly.
const overrideExits = (command: Command): void => {
  command.exitOverride();
  command.commands.forEach(overrideExits);
};
overrideExits(program);

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
