/**
 * A run continued on PyTorch's DistributedDataParallel: `deno task train`
 * trains the CNN (with BatchNorm and Jumpout) for an epoch on the embedded
 * Fashion-MNIST subset; its checkpoint and `exportTorch`'s module go to two
 * gloo processes on 127.0.0.1 (torchrun's environment variables) that run
 * `python/continue_ddp.py`: each restores the checkpoint, trains its shard
 * of each batch with jumpout_torch's masks, and the loss falls. The state
 * dict imports back and our logits equal PyTorch's within 1e-4 (relative to
 * the largest); the checkpoint written there loads here with the steps
 * advanced; and the library's own workers, resumed from the first
 * checkpoint on the same batches, end with the same logits within 1e-4.
 * Needs `/usr/bin/python3` with torch (see `_helpers/torch.ts`): ignored
 * with a printed reason without it, a failure under CI=true.
 */
import { deepEqual, ok } from "node:assert/strict";
import {
  DataParallel,
  encodeSafetensors,
  exportTorch,
  importTorch,
  loadFashionMnist,
} from "../mod.ts";
import { type LoadedModel, loadModel } from "../src/io/load_model.ts";
import { gather, optimizerSpec } from "../cli/_fit.ts";
import { logitsOf } from "./_helpers/loaded_model.ts";
import {
  PACKAGE_PATH,
  PYTHON_PATH,
  relativeDifference,
  torchProblem,
} from "./_helpers/torch.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const ROWS = 512;
const BATCH = 128;
const STEPS = 8;
const LR = 0.02;
const WORLD = 2;
const PEEK = 16;

const problem = await torchProblem();

/** Runs a command to its end; throws with its output when it fails. */
async function run(
  command: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command(command, {
    args,
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  if (code !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} exited with ${code}:\n${text(stdout)}\n${
        text(stderr)
      }`,
    );
  }
  return text(stdout);
}

/** A free TCP port on 127.0.0.1 for the processes to meet on. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

Deno.test({
  name:
    "a run trained here continues on 2-process DDP with the same masks, and comes back",
  ignore: problem !== undefined,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const loaded: LoadedModel[] = [];
    try {
      await run(Deno.execPath(), [
        "task",
        "train",
        "--model",
        "cnn",
        "--epochs",
        "1",
        "--data",
        "embedded",
        "--workers",
        String(WORLD),
        "--batch",
        String(BATCH),
        "--out",
        dir,
      ]);
      const checkpoint = await Deno.readFile(`${dir}/checkpoint.safetensors`);
      const trained = await loadModel(checkpoint);
      loaded.push(trained);
      await Deno.writeTextFile(
        `${dir}/model.py`,
        (await exportTorch(trained.model)).python,
      );
      const data = await loadFashionMnist({ source: "embedded" });
      const { images, labels } = gather(
        data.train,
        Uint32Array.from({ length: ROWS }, (_, i) => i),
      );
      await Deno.writeFile(
        `${dir}/batches.safetensors`,
        encodeSafetensors(
          new Map([
            ["x", { dtype: "F32", shape: [ROWS, 1, 28, 28], data: images }],
            [
              "labels",
              {
                dtype: "I64",
                shape: [ROWS],
                data: BigInt64Array.from(labels, BigInt),
              },
            ],
          ]),
        ),
      );

      const port = String(freePort());
      const outputs = await Promise.all(
        Array.from({ length: WORLD }, (_, rank) =>
          run(PYTHON_PATH, [
            `${PACKAGE_PATH}/continue_ddp.py`,
            "--module",
            `${dir}/model.py`,
            "--checkpoint",
            `${dir}/checkpoint.safetensors`,
            "--data",
            `${dir}/batches.safetensors`,
            "--batch",
            String(BATCH),
            "--steps",
            String(STEPS),
            "--lr",
            String(LR),
            "--logits",
            String(PEEK),
            "--out",
            `${dir}/state.safetensors`,
            "--checkpoint-out",
            `${dir}/continued.safetensors`,
          ], {
            RANK: String(rank),
            LOCAL_RANK: String(rank),
            WORLD_SIZE: String(WORLD),
            MASTER_ADDR: "127.0.0.1",
            MASTER_PORT: port,
          })),
      );
      const torch = JSON.parse(outputs[0]) as {
        lossBefore: number;
        lossAfter: number;
        losses: number[];
        logits: number[];
      };
      ok(
        torch.lossAfter < torch.lossBefore,
        `the loss must fall, got ${torch.lossBefore} then ${torch.lossAfter}`,
      );

      // The state dict, imported into the model trained here.
      const x = images.subarray(0, PEEK * 784);
      importTorch(
        await Deno.readFile(`${dir}/state.safetensors`),
        trained.model,
      );
      const imported = relativeDifference(
        await logitsOf(trained, x),
        torch.logits,
      );
      ok(imported <= 1e-4, `imported logits differ by ${imported}`);

      // The checkpoint written there: same logits, steps advanced.
      const continued = await loadModel(
        await Deno.readFile(`${dir}/continued.safetensors`),
      );
      loaded.push(continued);
      const header = trained.header;
      deepEqual(continued.header.step, header.step + STEPS);
      deepEqual(
        continued.header.maskSteps,
        Object.fromEntries(
          Object.entries(header.maskSteps).map(([k, v]) => [k, v + STEPS]),
        ),
      );
      const back = relativeDifference(
        await logitsOf(continued, x),
        torch.logits,
      );
      ok(back <= 1e-4, `the continued checkpoint's logits differ by ${back}`);

      // The library's workers, resumed from the same checkpoint.
      const setup = JSON.parse(header.metadata["dataParallel.setup"]);
      const trainer = await DataParallel.create({
        model: setup.layers,
        inputShape: setup.inputShape,
        optimizer: { ...optimizerSpec(5e-4), lr: LR },
        workers: WORLD,
        seed: Number(header.metadata["dataParallel.seed"]),
        checkpoint,
        metadata: {
          "input.mean": header.metadata["input.mean"],
          "input.std": header.metadata["input.std"],
        },
      });
      try {
        for (let s = 0; s < STEPS; s++) {
          const rows = Array.from(
            { length: BATCH },
            (_, i) => (s * BATCH + i) % ROWS,
          );
          const batch = new Float32Array(BATCH * 784);
          rows.forEach((r, i) =>
            batch.set(images.subarray(r * 784, (r + 1) * 784), i * 784)
          );
          await trainer.trainStep(batch, rows.map((r) => labels[r]));
        }
        const ours = await loadModel(await trainer.checkpoint());
        loaded.push(ours);
        const same = relativeDifference(await logitsOf(ours, x), torch.logits);
        ok(same <= 1e-4, `our continued run's logits differ by ${same}`);
      } finally {
        await trainer.dispose();
      }
    } finally {
      for (const m of loaded) m.dispose();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
