/** TensorFlow.js's CPU backends for the tests of the TensorFlow.js layer. */
import * as tf from "@tensorflow/tfjs-core";
import { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";
import { initTfjsWasm } from "../../bench/_tfjs.ts";

/**
 * TensorFlow.js's cpu backend under a name the layer does not know, so that
 * it keeps the counts of active inputs where they are, as on a GPU backend.
 */
export const UNREAD_CPU = "cpu-unread";

/** The backends the layer is tested on in Deno: the cpu one twice. */
export const TFJS_CPU_BACKENDS = ["cpu", "wasm", UNREAD_CPU] as const;

/** One of {@linkcode TFJS_CPU_BACKENDS}. */
export type TfjsCpuBackend = typeof TFJS_CPU_BACKENDS[number];

/**
 * Makes `name` TensorFlow.js's backend (wasm: single-threaded, its binary
 * read from the npm package).
 */
export async function useTfjsBackend(name: TfjsCpuBackend): Promise<void> {
  if (name === "wasm") await initTfjsWasm();
  if (name === UNREAD_CPU && tf.findBackend(UNREAD_CPU) === null) {
    tf.registerBackend(UNREAD_CPU, () => new MathBackendCPU(), 0);
    for (const kernel of tf.getKernelsForBackend("cpu")) {
      tf.registerKernel({ ...kernel, backendName: UNREAD_CPU });
    }
  }
  if (!(await tf.setBackend(name))) {
    throw new Error(
      `Cannot use TensorFlow.js's ${name} backend: setBackend failed`,
    );
  }
}
