/** TensorFlow.js's CPU backends for the tests of the TensorFlow.js layer. */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { initTfjsWasm } from "../../bench/_tfjs.ts";

/** The TensorFlow.js backends the layer is tested on in Deno and Node. */
export const TFJS_CPU_BACKENDS = ["cpu", "wasm"] as const;

/** One of {@linkcode TFJS_CPU_BACKENDS}. */
export type TfjsCpuBackend = typeof TFJS_CPU_BACKENDS[number];

/**
 * Makes `name` TensorFlow.js's backend (wasm: single-threaded, its binary
 * read from the npm package).
 */
export async function useTfjsBackend(name: TfjsCpuBackend): Promise<void> {
  if (name === "wasm") await initTfjsWasm();
  if (!(await tf.setBackend(name))) {
    throw new Error(
      `Cannot use TensorFlow.js's ${name} backend: setBackend failed`,
    );
  }
}
