#!/usr/bin/env node
/*
 * hems-device: a HEMS device's command line for its utility's gateway (enrol, read prices and
 * dispatch, submit a signed forecast, follow events). `hems-device --help` for usage.
 */
import { parseArgs, USAGE, UsageError, type Command } from '../cli/args';
import { describe, run, type CliIo } from '../cli/commands';

export { parseArgs, USAGE, UsageError, type Command, type IdentityArgs } from '../cli/args';
export { describe, loadIdentity, type CliIo } from '../cli/commands';

const defaultIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** Runs the CLI; resolves with the exit status. */
export async function main(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  let command: Command;
  try {
    command = parseArgs(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`hems-device: ${error.message}\nRun "hems-device --help" for usage.\n`);
      return 2;
    }
    throw error;
  }
  if (command.command === 'help') {
    io.stdout(USAGE);
    return 0;
  }
  try {
    await run(command, io);
    return 0;
  } catch (error) {
    io.stderr(`hems-device: ${describe(error)}\n`);
    return 1;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((status) => {
    process.exitCode = status;
  });
}
