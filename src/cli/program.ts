/**
 * The `galen` command tree, built without running it: main.ts parses the command line with it,
 * and the CLI reference test (test/docs/cli-reference.test.ts) walks it so docs/guides/cli.md
 * cannot drift from the commands and options that exist.
 */
import { Command } from 'commander';
import { environmentVariables } from '../config/index.js';
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
import { workerCommand } from './worker-command.js';

/** Every command and option of `galen`, with usage errors thrown (never exiting) on each. */
export function buildProgram(): Command {
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
  program.addCommand(workerCommand(global));
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
  return program;
}
