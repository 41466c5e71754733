/** What needs no mpirun: the launcher's environment, the timeout setting, a missing library, the max keys. */
import { afterEach, describe, expect, it } from 'vitest';
import { createMpiCommunicator, launchedByMpi, localRank, MpiUnavailableError, resolveTimeoutMs } from '../src/index.ts';
import { fromMaxKeys, toMaxKeys } from '../src/orderedKeys.ts';

describe('launchedByMpi / localRank', () => {
  it('tells hydra, Open MPI and PMIx launches from a plain one', () => {
    expect(launchedByMpi({})).toBe(false);
    expect(launchedByMpi({ PMI_RANK: '1' })).toBe(false);
    expect(launchedByMpi({ PMI_RANK: '1', PMI_SIZE: '3' })).toBe(true);
    expect(launchedByMpi({ OMPI_COMM_WORLD_SIZE: '2' })).toBe(true);
    expect(launchedByMpi({ PMIX_RANK: '0' })).toBe(true);
  });
  it('reads the node-local rank of hydra and of Open MPI', () => {
    expect(localRank({})).toBeUndefined();
    expect(localRank({ MPI_LOCALRANKID: '2' })).toBe(2);
    expect(localRank({ OMPI_COMM_WORLD_LOCAL_RANK: '1' })).toBe(1);
    expect(localRank({ MPI_LOCALRANKID: 'x' })).toBeUndefined();
  });
});

describe('resolveTimeoutMs', () => {
  it('takes the option, else NLADMM_MPI_TIMEOUT seconds, else 30 s', () => {
    expect(resolveTimeoutMs(undefined, {})).toBe(30_000);
    expect(resolveTimeoutMs(undefined, { NLADMM_MPI_TIMEOUT: '2.5' })).toBe(2_500);
    expect(resolveTimeoutMs(700, { NLADMM_MPI_TIMEOUT: '2.5' })).toBe(700);
    expect(() => resolveTimeoutMs(undefined, { NLADMM_MPI_TIMEOUT: 'soon' })).toThrow(/NLADMM_MPI_TIMEOUT must be a positive number of seconds/);
    expect(() => resolveTimeoutMs(0, {})).toThrow(RangeError);
  });
});

describe('createMpiCommunicator', () => {
  const saved = process.env.NLADMM_MPI;
  afterEach(() => {
    if (saved === undefined) delete process.env.NLADMM_MPI;
    else process.env.NLADMM_MPI = saved;
  });
  it('refuses a missing library with MpiUnavailableError naming it and what to install', async () => {
    process.env.NLADMM_MPI = '/nonexistent/libmpi.so.12';
    const attempt = createMpiCommunicator();
    await expect(attempt).rejects.toBeInstanceOf(MpiUnavailableError);
    await expect(attempt).rejects.toThrow(/NLADMM_MPI=\/nonexistent\/libmpi\.so\.12/);
    await expect(attempt).rejects.toThrow(/apt-get install mpich/);
  });
  it('refuses a library that is not MPI, naming what it lacks', async () => {
    await expect(createMpiCommunicator({ library: 'libc.so.6' })).rejects.toThrow(/libc\.so\.6 is not an MPI-3 library: it lacks MPI_Initialized/);
  });
});

describe('max keys', () => {
  const values = [-Infinity, -1e308, -1, -(2 ** -1074), -0, 0, 2 ** -1074, 1, 1e308, Infinity, NaN];
  it('order like the doubles, −0 below +0, NaN above +∞, and come back unchanged', () => {
    const data = Float64Array.from(values);
    toMaxKeys(data);
    const keys = Array.from(new BigInt64Array(data.buffer));
    for (let i = 1; i < keys.length; i++) expect(keys[i] > keys[i - 1], `${values[i - 1]} < ${values[i]}`).toBe(true);
    fromMaxKeys(data);
    values.forEach((v, i) => expect(Object.is(data[i], v), String(v)).toBe(true));
  });
  it('give every NaN the same key', () => {
    const data = new Float64Array(2);
    new BigUint64Array(data.buffer).set([0xfff8000000000001n, 0x7ff0000000000abcn]);
    toMaxKeys(data);
    expect(new BigInt64Array(data.buffer)[0]).toBe(0x7ff8000000000000n);
    expect(new BigInt64Array(data.buffer)[1]).toBe(0x7ff8000000000000n);
  });
});
