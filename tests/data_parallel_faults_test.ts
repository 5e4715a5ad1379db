import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import {
  DataParallel,
  DataParallelError,
  readCheckpointHeader,
} from "../mod.ts";
import {
  batches,
  FEATURES,
  LAYERS,
  OPTIMIZER,
  sameBytes,
} from "./_helpers/data_parallel.ts";
import {
  type Fault,
  FAULTY_REPLICA,
  FAULTY_STEP,
} from "./_helpers/workers/_faulty.ts";

const SEED = 5;
const STEPS = 5;
const TIMEOUT_MS = 1500;
/** How late past the timeout a fault may be reported (a loaded machine). */
const SLACK_MS = 1500;

function create(
  options: Partial<Parameters<typeof DataParallel.create>[0]> = {},
): Promise<DataParallel> {
  return DataParallel.create({
    model: LAYERS,
    inputShape: [FEATURES],
    optimizer: OPTIMIZER,
    backend: "wasm",
    seed: SEED,
    workers: 2,
    timeoutMs: TIMEOUT_MS,
    ...options,
  });
}

const DATA = batches(STEPS, 24, 3);

/** The uninterrupted run's final checkpoint, the yardstick for resumed runs. */
let uninterrupted: Promise<Uint8Array> | undefined;
function uninterruptedRun(): Promise<Uint8Array> {
  uninterrupted ??= (async () => {
    const trainer = await create();
    for (const { x, labels } of DATA) await trainer.trainStep(x, labels);
    const bytes = await trainer.checkpoint();
    await trainer.dispose();
    return bytes;
  })();
  return uninterrupted;
}

const EXPECTED: Record<Fault, { fault: string; message: RegExp }> = {
  throw: { fault: "threw", message: /worker 1 of 2 threw: injected fault/ },
  close: {
    fault: "timeout",
    message: new RegExp(`worker 1 of 2 did not answer within ${TIMEOUT_MS} ms`),
  },
  hang: {
    fault: "timeout",
    message: new RegExp(`worker 1 of 2 did not answer within ${TIMEOUT_MS} ms`),
  },
  crash: {
    fault: "crashed",
    message: /worker 1 of 2 crashed: .*uncaught injected fault/,
  },
};

for (const fault of ["throw", "close", "hang", "crash"] as const) {
  for (const transport of ["shared", "transfer"] as const) {
    Deno.test(`a worker that fails (${fault}, ${transport}) ends the step in a named error, and the run resumes from its checkpoint`, async () => {
      const dir = await Deno.makeTempDir();
      const path = `${dir}/run.ckpt`;
      const trainer = await create({
        transport,
        workerUrl: new URL(
          `./_helpers/workers/${fault}_worker.ts`,
          import.meta.url,
        ),
      });
      for (const { x, labels } of DATA.slice(0, FAULTY_STEP)) {
        await trainer.trainStep(x, labels);
        await trainer.saveCheckpoint(path);
      }
      const started = performance.now();
      const error = await trainer.trainStep(
        DATA[FAULTY_STEP].x,
        DATA[FAULTY_STEP].labels,
      )
        .then(() => undefined, (e) => e);
      const elapsed = performance.now() - started;
      ok(error instanceof DataParallelError, `got ${error}`);
      ok(EXPECTED[fault].message.test(error.message), error.message);
      deepEqual([error.worker, error.fault], [
        FAULTY_REPLICA,
        EXPECTED[fault].fault,
      ]);
      ok(elapsed < TIMEOUT_MS + SLACK_MS, `reported after ${elapsed} ms`);
      // Later calls say why at once; dispose still works.
      await rejects(
        trainer.trainStep(DATA[0].x, DATA[0].labels),
        /stopped after a worker failed .*worker 1 of 2/,
      );
      await trainer.dispose();
      await trainer.dispose();

      // A new trainer from the last complete checkpoint finishes the run as
      // if nothing had happened.
      const bytes = await Deno.readFile(path);
      equal(readCheckpointHeader(bytes).step, FAULTY_STEP);
      const resumed = await create({ transport, checkpoint: bytes });
      equal(resumed.stepCount, FAULTY_STEP);
      for (const { x, labels } of DATA.slice(FAULTY_STEP)) {
        await resumed.trainStep(x, labels);
      }
      ok(sameBytes(await resumed.checkpoint(), await uninterruptedRun()));
      await resumed.dispose();
      await Deno.remove(dir, { recursive: true });
    });
  }
}

Deno.test("a checkpoint only resumes the trainer that wrote it", async () => {
  const bytes = await uninterruptedRun();
  await rejects(
    create({ checkpoint: bytes, seed: SEED + 1 }),
    /seed must be the checkpoint's \(5\) or left out, got 6/,
  );
  await rejects(
    create({ checkpoint: bytes, optimizer: { type: "adam" } }),
    /checkpoint must be of this model, input shape, optimiser and augmentation/,
  );
  await rejects(
    create({
      checkpoint: bytes,
      model: LAYERS.slice(0, 4).concat([LAYERS[6]]),
    }),
    /checkpoint must be of this model/,
  );
});
