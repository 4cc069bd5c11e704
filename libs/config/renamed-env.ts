/**
 * Env names that were renamed, new name -> old name. The old name is still read when the new
 * one is unset, so a deployment written before the rename keeps its setting.
 */
export type RenamedEnv = Readonly<Record<string, string>>;

/** `env` with each old name's value under its new name where only the old one is set, and the renames so used. */
export function withRenamedEnv(env: NodeJS.ProcessEnv, renamed: RenamedEnv): { env: NodeJS.ProcessEnv; oldNamesRead: { old: string; current: string }[] } {
  const oldNamesRead = Object.entries(renamed)
    .filter(([current, old]) => env[current] === undefined && env[old] !== undefined)
    .map(([current, old]) => ({ old, current }));
  if (oldNamesRead.length === 0) return { env, oldNamesRead };
  const translated = { ...env };
  for (const { old, current } of oldNamesRead) translated[current] = env[old];
  return { env: translated, oldNamesRead };
}
