/**
 * @nladmm/mpi: the Communicator of a sample-sharded run over MPI (MPICH through koffi), for `mpirun -np P`.
 */
export { createMpiCommunicator, MpiCommunicator, MpiTimeoutError } from './mpiCommunicator.ts';
export { DEFAULT_LIBRARIES, loadMpi, MpiError, MpiUnavailableError, type MpiLibrary } from './library.ts';
export { DEFAULT_TIMEOUT_MS, type Env, launchedByMpi, localRank, resolveTimeoutMs } from './environment.ts';
