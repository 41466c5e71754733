import { BlasBackend } from '@nladmm/blas-backend';
import { describeBackendConformance } from './conformance/backendSuite.ts';

describeBackendConformance('blas f64', () => new BlasBackend(), { rel: 1e-12 });
// f32 computes in f32 (the library's s… routines): a sum of k terms carries about √k·u of error (u = 2⁻²⁴), which
// the suite's √k scaling covers; 1e-6 ≈ 16 u is the margin the cpu backend's f32 storage mode also gets.
describeBackendConformance('blas f32', () => new BlasBackend({ precision: 'f32' }), { rel: 1e-6 });
