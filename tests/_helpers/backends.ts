/**
 * Test helpers: the backends to check against the reference, and the GPU
 * policy (no adapter fails under CI=true, never skips silently there).
 */
import type { Backend, BackendName } from "../../mod.ts";
import { createBackend } from "../../mod.ts";

/** Whether WebGPU tests must run (CI), rather than be ignored with a message. */
export const GPU_REQUIRED = Deno.env.get("CI") === "true";

let gpuAvailable: Promise<boolean> | undefined;

/** Whether an adapter exists; under CI=true a missing adapter throws. */
export function hasGpu(): Promise<boolean> {
  gpuAvailable ??= (async () => {
    const adapter = await navigator.gpu?.requestAdapter().catch(() => null);
    if (!adapter) {
      if (GPU_REQUIRED) {
        throw new Error("CI=true but no WebGPU adapter was found");
      }
      console.warn(
        "No WebGPU adapter: webgpu tests are ignored (CI=true makes this a failure)",
      );
      return false;
    }
    return true;
  })();
  return gpuAvailable;
}

/**
 * Runs `fn` on a fresh backend, disposing it afterwards; on webgpu, an
 * uncaptured GPU error (a validation error, say) fails it too.
 */
export async function withBackend(
  name: BackendName,
  fn: (backend: Backend) => Promise<void> | void,
): Promise<void> {
  const backend = await createBackend(name);
  const errors: string[] = [];
  const device = (backend as { device?: GPUDevice }).device;
  device?.addEventListener("uncapturederror", (event) => {
    errors.push((event as GPUUncapturedErrorEvent).error.message);
  });
  try {
    await fn(backend);
  } finally {
    backend.dispose();
  }
  if (errors.length > 0) {
    throw new Error(`Uncaptured GPU errors: ${errors.join("; ")}`);
  }
}

/**
 * Whether tests of a backend are ignored: only webgpu, only without an
 * adapter, only outside CI (under CI=true a missing adapter throws here, so
 * the test module fails to load).
 */
export async function ignoreBackend(name: BackendName): Promise<boolean> {
  return name === "webgpu" && !(await hasGpu());
}

/** Every backend that is checked against the reference. */
export const ACCELERATED: BackendName[] = ["wasm", "webgpu"];

/** Float32 data with a fixed pattern of positives, negatives, zeros. */
export function pattern(n: number, seed = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const u = s / 2 ** 32;
    out[i] = u < 0.15 ? 0 : (u - 0.45) * 4;
  }
  return out;
}
