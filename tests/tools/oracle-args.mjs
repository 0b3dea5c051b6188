// The command line of the oracles in this folder (ai-sdk-oracle.mjs, agents-oracle.mjs, langchain-oracle.mjs):
// `--name value` options and `--name` flags.
const args = process.argv.slice(2);

/** The value after `--NAME`, or `fallback` when it is not given. */
export function option(name, fallback) {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : fallback;
}

/** Whether `--NAME` is given. */
export function flag(name) {
  return args.includes(`--${name}`);
}
