// The nladmm executable: runs the CLI on this process's arguments and exits with its code.
import { runCli } from './cli.ts';

const code = await runCli(process.argv.slice(2), { handleSignals: true });
process.exitCode = code;
