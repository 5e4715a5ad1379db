/**
 * Training steps of `resnet20` in PyTorch on the CPU (`torch_resnet.py`, run
 * by Debian's `/usr/bin/python3`): a long-lived Python process that runs one
 * step per request, so its steps are timed and interleaved with this
 * library's in the same loop.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import type { TrainCase } from "./_train_models.ts";

/** Debian's interpreter, whose python3-torch this benchmark uses (not a `python3` first on PATH). */
export const PYTHON_PATH = "/usr/bin/python3";

const SCRIPT = fileURLToPath(new URL("./torch_resnet.py", import.meta.url));

/** What `torch_resnet.py` says about its build before the first step. */
export interface TorchInfo {
  torchVersion: string;
  torchThreads: number;
  /** Whether oneDNN (MKL-DNN) is available to PyTorch. */
  torchOneDnn: boolean;
  /** The ATen operator that ran the convolutions, e.g. `mkldnn_convolution`. */
  torchConv: string;
  /** BLAS, oneDNN and OpenMP libraries the process had mapped. */
  torchLibraries: string[];
  torchParameters: number;
  /** `OMP_WAIT_POLICY` as the process saw it, or `default`. */
  torchOmpWaitPolicy: string;
}

/** A PyTorch training case and what its process reported. */
export interface TorchCase extends TrainCase {
  info: TorchInfo;
}

/**
 * Starts `torch_resnet.py --serve` with `threads` threads and a batch of
 * `batch`, and waits for its first (untimed) step.
 *
 * @param batch Samples per step.
 * @param threads PyTorch's (and OpenBLAS's) threads.
 * @returns The case; `step` sends one request and awaits its answer, and
 *   `dispose` ends the process.
 * @throws {Error} When Python or torch is missing, or the process fails.
 *
 * @example One step of ResNet-20 at batch 4 on one thread
 * ```ts ignore
 * import { prepareTorchTraining } from "./_torch_train.ts";
 *
 * const c = await prepareTorchTraining(4, 1);
 * await c.step();
 * c.dispose();
 * ```
 */
export async function prepareTorchTraining(
  batch: number,
  threads: number,
): Promise<TorchCase> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(PYTHON_PATH, {
      args: [
        SCRIPT,
        "--serve",
        "--threads",
        String(threads),
        "--batch",
        String(batch),
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    throw new Error(
      `Cannot start PyTorch: no Python at ${PYTHON_PATH} (Debian package python3-torch), got ${
        (e as Error).message
      }`,
    );
  }
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(
    splitLines(),
  ).getReader();
  const stderr = new Response(child.stderr).text();
  const writer = child.stdin.getWriter();
  const encoder = new TextEncoder();
  const dispose = () => {
    writer.close().catch(() => {});
    lines.cancel().catch(() => {});
    try {
      child.kill();
    } catch {
      // Already exited.
    }
  };
  const next = async (): Promise<string> => {
    const { value, done } = await lines.read();
    if (done) {
      const { code } = await child.status;
      throw new Error(
        `Cannot run PyTorch: ${PYTHON_PATH} exited with ${code}, got ${
          (await stderr).trim().split("\n").at(-1)
        }`,
      );
    }
    return value;
  };
  try {
    const info = JSON.parse(await next()) as TorchInfo;
    return {
      info,
      step: async () => {
        await writer.write(encoder.encode("step\n"));
        await next();
      },
      dispose,
    };
  } catch (e) {
    dispose();
    throw e;
  }
}

/** Splits a text stream into its lines. */
function splitLines(): TransformStream<string, string> {
  let rest = "";
  return new TransformStream({
    transform(chunk, controller) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      for (const line of parts) controller.enqueue(line);
    },
    flush(controller) {
      if (rest) controller.enqueue(rest);
    },
  });
}
