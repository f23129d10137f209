/** A script's command-line flags: `--flag value` and `--flag=value`, each flag once, `--help` alone. */
export interface Flags {
  readonly help: boolean;
  /** The flags given with their values, in order. */
  readonly values: readonly (readonly [flag: string, value: string])[];
}

/** The value of the flag at `argv[index]`, given inline (`--flag=value`) or as the next argument. */
function flagValue(argv: readonly string[], index: number, flag: string, inline?: string): string {
  if (inline !== undefined) {
    return inline;
  }
  const following = argv[index + 1];
  if (following === undefined || following.startsWith('--')) {
    throw new Error(`--${flag} needs a value`);
  }
  return following;
}

/**
 * Reads `argv` (without node and script) against the flags a script knows; refuses a bare
 * argument, an unknown flag, a flag given twice and a flag without its value.
 */
export function readFlags(argv: readonly string[], known: ReadonlySet<string>): Flags {
  let help = false;
  const values: (readonly [string, string])[] = [];
  const seen = new Set<string>();
  for (let index = 0; index < argv.length; index += 1) {
    const argument = argv[index] ?? '';
    if (!argument.startsWith('--')) {
      throw new Error(`unexpected argument "${argument}" (options start with --)`);
    }
    const equals = argument.indexOf('=');
    const flag = argument.slice(2, equals >= 0 ? equals : undefined);
    if (flag === 'help') {
      help = true;
      continue;
    }
    if (seen.has(flag)) {
      throw new Error(`--${flag} is given twice`);
    }
    seen.add(flag);
    if (!known.has(flag)) {
      throw new Error(`unknown option --${flag} (see --help)`);
    }
    values.push([flag, flagValue(argv, index, flag, equals >= 0 ? argument.slice(equals + 1) : undefined)]);
    if (equals < 0) {
      index += 1;
    }
  }
  return { help, values };
}
