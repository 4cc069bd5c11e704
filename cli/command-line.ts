import path from 'node:path';

/**
 * A command line a person can paste to run faceshard with `args`: the program as this run
 * was started (`faceshard`, or `node dist/cli/faceshard.js`), then the arguments, quoted for a shell.
 */
export function commandLine(args: readonly string[], script = process.argv[1] ?? 'faceshard'): string {
  const program = script.endsWith('.js') ? `node ${shellQuote(path.relative(process.cwd(), script) || script)}` : 'faceshard';
  return [program, ...args.map(shellQuote)].join(' ');
}

function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}
