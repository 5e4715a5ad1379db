/**
 * A run of the ResNet experiment trained by PyTorch instead of this library:
 * `python/torch_fashion_resnet.py` under Debian's `/usr/bin/python3`, the same
 * network, data, augmentation, optimiser, schedule and epochs, for the
 * comparison at equal budget.
 *
 * @module
 */

import type { EpochRecord, FitConfig, FitHooks, FitResult } from "./_fit.ts";

/** The interpreter with Debian's torch. */
export const TORCH_PYTHON = "/usr/bin/python3";

const SCRIPT = new URL("../python/torch_fashion_resnet.py", import.meta.url)
  .pathname;

/**
 * Whether PyTorch can train here.
 *
 * @returns True when `/usr/bin/python3` imports torch.
 */
export async function torchAvailable(): Promise<boolean> {
  try {
    const { code } = await new Deno.Command(TORCH_PYTHON, {
      args: ["-c", "import torch"],
      stdout: "null",
      stderr: "null",
    }).output();
    return code === 0;
  } catch {
    return false;
  }
}

/**
 * Trains `config` (a `resnet<depth>` with dropout, augmented, on the whole
 * training set) with PyTorch, one thread per worker of the config.
 *
 * @param config The run; `impl` must be `torch`.
 * @param dir The Fashion-MNIST files.
 * @param hooks Progress and stop.
 * @returns The run's result, as `fit` gives it.
 * @throws {Error} When the config is not one the script trains, or the
 *   script fails.
 */
export async function torchFit(
  config: FitConfig,
  dir: string,
  hooks: FitHooks = {},
): Promise<FitResult> {
  const depth = /^resnet(\d+)$/.exec(config.model)?.[1];
  if (
    depth === undefined || config.reg.kind !== "dropout" ||
    config.augment !== true || (config.validation ?? 0) !== 0
  ) {
    throw new Error(
      `Cannot train with PyTorch: config must be a resnet with dropout, augmented, on the whole training set, got ${
        JSON.stringify(config)
      }`,
    );
  }
  const args = [
    SCRIPT,
    "--depth",
    depth,
    "--rate",
    String(config.reg.rate),
    "--epochs",
    String(config.epochs),
    "--seed",
    String(config.seed),
    "--threads",
    String(Math.max(1, config.workers ?? 1)),
    "--batch",
    String(config.batch),
    "--lr",
    String(config.lr),
    "--data",
    dir,
    ...(config.trainSize === undefined
      ? []
      : ["--train-images", String(config.trainSize)]),
  ];
  const child = new Deno.Command(TORCH_PYTHON, {
    args,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stop = () => child.kill("SIGTERM");
  hooks.signal?.addEventListener("abort", stop);
  const stderr = new Response(child.stderr).text();
  const result: FitResult = {
    config,
    evaluatedOn: "test",
    trainImages: 0,
    epochs: [],
    active: [],
    interrupted: false,
  };
  let buffer = "";
  const started = performance.now();
  for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let at;
    while ((at = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, at).trim();
      buffer = buffer.slice(at + 1);
      if (line === "") continue;
      const row = JSON.parse(line);
      if (row.done === true) {
        result.trainImages = row.trainImages;
        continue;
      }
      const record: EpochRecord = {
        epoch: row.epoch,
        trainLoss: row.trainLoss,
        trainAccuracy: row.trainAccuracy,
        evalLoss: row.evalLoss,
        evalAccuracy: row.evalAccuracy,
        seconds: row.seconds,
        samplesPerSec: row.samplesPerSec,
      };
      result.epochs.push(record);
      const elapsed = (performance.now() - started) / 1000;
      hooks.onStep?.({
        epoch: record.epoch,
        step: 1,
        steps: 1,
        loss: record.trainLoss,
        samplesPerSec: record.samplesPerSec,
        secondsLeft: (elapsed / record.epoch) * (config.epochs - record.epoch),
      });
      await hooks.onEpoch?.(record, undefined as never);
    }
  }
  const { code } = await child.status;
  hooks.signal?.removeEventListener("abort", stop);
  if (hooks.signal?.aborted) return { ...result, interrupted: true };
  if (code !== 0 || result.epochs.length !== config.epochs) {
    throw new Error(
      `Cannot train with PyTorch: ${TORCH_PYTHON} ${
        args.join(" ")
      } exited with ${code} after ${result.epochs.length} epochs: ${
        (await stderr).trim().split("\n").slice(-5).join(" / ")
      }`,
    );
  }
  return result;
}
