// The nladmm executable: runs the CLI on this process's arguments and exits with its code. Started by mpirun / mpiexec,
// it is one rank of a sharded run: `train` runs on every rank; any other command on rank 0 alone.
import { runCli } from './cli.ts';
import { SHARDED_COMMANDS, processCommunicator, rankOutput } from './ranks.ts';

const argv = process.argv.slice(2);
const communicator = await processCommunicator();
const output = rankOutput(communicator);
let code = 0;
if (communicator.rank === 0 || SHARDED_COMMANDS.has(argv[0] ?? '')) {
  code = await runCli(argv, { handleSignals: true, communicator, stdout: output.stdout, stderr: output.stderr });
}
if (code !== 0 && communicator.size > 1) {
  // A failed rank ends them all (MPI_Abort), so that none waits for it at its next collective.
  output.flushError();
  communicator.abort(code);
}
await communicator.close();
process.exitCode = code;
