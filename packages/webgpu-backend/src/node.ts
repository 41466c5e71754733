/// <reference types="@webgpu/types" preserve="true" />
/**
 * The Node provider of WebGPU devices: Dawn through the `webgpu` npm package, or through the dawn.node file named
 * by $DAWN_NODE (a bundle that travels without node_modules). On machines without a GPU it points Vulkan at
 * SwiftShader, the CPU Vulkan driver Debian's chromium package ships.
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { type DeviceInfo, isSoftwareAdapter, requestComputeDevice } from './device.ts';

/**
 * Dawn zero-fills workgroup memory at the start of every workgroup unless told not to. The backend's kernels write
 * all the workgroup memory they read, and the zero-fill code dominates their compile time on SwiftShader (≈ 0.6 s
 * instead of ≈ 60 ms per GEMM variant), so it is turned off by default.
 */
export const DEFAULT_DAWN_OPTIONS: readonly string[] = ['enable-dawn-features=disable_workgroup_init'];

export type SoftwarePolicy = 'auto' | 'require' | 'forbid';

export interface NodeDeviceOptions {
  /**
   * 'require': use SwiftShader; 'forbid': refuse a software adapter; 'auto' (default): SwiftShader only when no
   * Vulkan driver is configured or installed (lavapipe does not count: Dawn refuses it).
   */
  readonly software?: SoftwarePolicy;
  /**
   * Dawn flags for create() (default: {@link DEFAULT_DAWN_OPTIONS}), e.g.
   * 'enable-dawn-features=allow_unsafe_apis,disable_robustness,disable_workgroup_init'.
   */
  readonly dawnOptions?: readonly string[];
}

/** What createNodeDevice reports about its adapter and device. */
export type NodeDeviceInfo = DeviceInfo;

export interface NodeDevice {
  readonly device: GPUDevice;
  /** Dawn's GPU instance the device came from (it must outlive the device: see {@link createNodeDevice}). */
  readonly instance: GPU;
  readonly info: NodeDeviceInfo;
  readonly isSoftware: boolean;
  /** Destroys the device (a live Dawn device keeps a CPU core busy and the process alive). */
  destroy(): void;
}

/** What {@link loadDawn} loads: the `webgpu` package's module, or a dawn.node file's. */
export interface DawnModule {
  create(options: string[]): GPU;
  globals: Record<string, unknown>;
}

/** Where Debian and Ubuntu chromium packages put SwiftShader's Vulkan ICD. */
export const SWIFTSHADER_ICDS = ['/usr/lib/chromium/vk_swiftshader_icd.json', '/usr/lib/chromium-browser/vk_swiftshader_icd.json'];

const ICD_DIRS = ['/etc/vulkan/icd.d', '/usr/share/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];

/**
 * Whether a hardware Vulkan driver is configured by the environment, or installed with a device it can drive: an
 * NVIDIA ICD with /dev/nvidiactl, or a Mesa hardware ICD with a DRM render node. (Mesa installs its ICD files
 * whether or not there is a GPU, and Dawn refuses lavapipe, so the files alone prove nothing.)
 */
function hardwareVulkanAvailable(): boolean {
  if (process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES) return true;
  const icds: string[] = [];
  for (const dir of ICD_DIRS) {
    try {
      icds.push(...readdirSync(dir).filter((f) => f.endsWith('.json') && !/lvp|lavapipe|swiftshader/i.test(f)));
    } catch {
      // no such directory
    }
  }
  const renderNode = (() => {
    try {
      return readdirSync('/dev/dri').some((f) => f.startsWith('renderD'));
    } catch {
      return false;
    }
  })();
  return icds.some((f) => (/nvidia/i.test(f) ? existsSync('/dev/nvidiactl') : renderNode));
}

function swiftShaderIcd(): string | undefined {
  return SWIFTSHADER_ICDS.find((p) => existsSync(p));
}

let dawn: Promise<DawnModule> | undefined;

/**
 * Loads Dawn once: from $DAWN_NODE when set (mirroring how the `webgpu` package loads its dawn.node, including its
 * fix that GPUDevice.destroy() unmaps the device's buffers), else from the `webgpu` package.
 */
export function loadDawn(): Promise<DawnModule> {
  dawn ??= (async () => {
    const path = process.env.DAWN_NODE;
    if (!path) return (await import('webgpu')) as unknown as DawnModule;
    const module = createRequire(import.meta.url)(path) as DawnModule;
    patchDestroyUnmaps(module.globals);
    return module;
  })();
  return dawn;
}

const PATCHED = Symbol.for('nladmm.dawnDestroyUnmaps');

/** GPUDevice.destroy() should unmap the device's buffers; dawn.node does not, so track them weakly and do it. */
function patchDestroyUnmaps(globals: Record<string, unknown>): void {
  const proto = (globals.GPUDevice as { prototype?: Record<string | symbol, unknown> } | undefined)?.prototype;
  if (!proto || proto[PATCHED]) return;
  const buffers = new WeakMap<object, Set<WeakRef<GPUBuffer>>>();
  const createBuffer = proto.createBuffer as (this: GPUDevice, d: GPUBufferDescriptor) => GPUBuffer;
  const destroy = proto.destroy as (this: GPUDevice) => void;
  proto.createBuffer = function (this: GPUDevice, descriptor: GPUBufferDescriptor) {
    const buffer = createBuffer.call(this, descriptor);
    let set = buffers.get(this);
    if (!set) buffers.set(this, (set = new Set()));
    set.add(new WeakRef(buffer));
    return buffer;
  };
  proto.destroy = function (this: GPUDevice) {
    for (const ref of buffers.get(this) ?? []) {
      const b = ref.deref();
      try {
        if (b?.mapState === 'mapped') b.unmap();
      } catch {
        // best effort: never keep the device from being destroyed
      }
    }
    buffers.delete(this);
    return destroy.call(this);
  };
  proto[PATCHED] = true;
}

/**
 * Dawn instances in use. Dawn processes a device's events through its instance, so the instance must stay reachable
 * while the device lives: an instance collected by the garbage collector under a live device crashes the process
 * (InstanceBase::ProcessEvents on freed memory). Each is held until a while after its device is destroyed.
 */
const liveInstances = new Set<GPU>();

/** A WebGPU device from Dawn with the adapter's largest limits and the useful optional features. */
export async function createNodeDevice(options: NodeDeviceOptions = {}): Promise<NodeDevice> {
  const policy = options.software ?? 'auto';
  // With no hardware driver to find, refuse before Dawn starts: its Vulkan instance would print "Warning:
  // vkCreateInstance: Found no drivers!" and a source location to stderr from native code (no JS hook or --quiet
  // can hold those lines back), e.g. on every `--backend auto --precision f32` run on a machine without a GPU.
  if (policy === 'forbid' && !hardwareVulkanAvailable()) {
    throw new Error('createNodeDevice: no hardware Vulkan driver is installed (and VK_ICD_FILENAMES / VK_DRIVER_FILES name none)');
  }
  if (policy === 'require' || (policy === 'auto' && !hardwareVulkanAvailable())) {
    const icd = swiftShaderIcd();
    if (!icd) {
      throw new Error(`createNodeDevice: SwiftShader's Vulkan driver is not installed (looked for ${SWIFTSHADER_ICDS.join(', ')}; apt-get install chromium)`);
    }
    if (policy === 'require' || !process.env.VK_ICD_FILENAMES) process.env.VK_ICD_FILENAMES = icd;
  }
  const { create, globals } = await loadDawn();
  for (const [key, value] of Object.entries(globals)) if (!(key in globalThis)) (globalThis as Record<string, unknown>)[key] = value;
  const gpu = create([...(options.dawnOptions ?? DEFAULT_DAWN_OPTIONS)]);
  liveInstances.add(gpu);
  let device: GPUDevice;
  let info: NodeDeviceInfo;
  try {
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) throw new Error(`createNodeDevice: no WebGPU adapter (VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES ?? ''})`);
    const adapterInfo = adapter.info;
    if (policy === 'forbid' && isSoftwareAdapter(adapterInfo)) {
      throw new Error(`createNodeDevice: only a software adapter was found (${adapterInfo.description || adapterInfo.architecture})`);
    }
    ({ device, info } = await requestComputeDevice(adapter));
  } catch (err) {
    liveInstances.delete(gpu);
    throw err;
  }
  let destroyed = false;
  return {
    device,
    instance: gpu,
    info,
    isSoftware: info.isSoftware,
    destroy() {
      if (destroyed) return;
      destroyed = true;
      device.destroy();
      // Events of the destroyed device may still be processed shortly; an unref'd timer keeps no process alive.
      setTimeout(() => liveInstances.delete(gpu), 2000).unref();
    },
  };
}
