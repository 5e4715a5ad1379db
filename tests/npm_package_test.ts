/**
 * The npm package as a user gets it: bundled (`tools/bundle.ts`), packed with
 * `npm pack`, installed into a scratch project with `npm install`, then one
 * program that trains a small Jumpout network (forward, backward, update)
 * and trains with `DataParallel` on one and two workers (`worker_threads` in
 * Node, sharing memory), saving, resuming and loading checkpoints, runs from
 * Node and from Deno against the installed package, and from Deno against
 * the source tree. All three must print the same numbers: the same wasm
 * kernels run on the same inputs and seeds. The README's Node example runs
 * there too. The `./tfjs` entry runs the same way, with TensorFlow.js
 * installed beside the package, on TensorFlow.js's cpu and wasm backends.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { bundle } from "../tools/bundle.ts";
import { loadFashionMnist } from "../mod.ts";
import {
  readmeBlock,
  runReadmeExample,
  walkthroughLines,
} from "./_helpers/readme.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** The package's name, as users import it. */
const NAME = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))).name;

/**
 * The program, valid both as JavaScript (for Node) and as TypeScript (Deno
 * type-checks it against the package's declarations). `LIBRARY` is replaced
 * by where the library comes from.
 */
const PROGRAM = `import {
  createBackend,
  DataParallel,
  Dense,
  Jumpout,
  labelsTensor,
  ReLU,
  Sequential,
  SGD,
  SoftmaxCrossEntropy,
  trainStep,
  writeFileAtomic,
} from "LIBRARY";

const backend = await createBackend("wasm");
const model = new Sequential([
  new Dense(6, 16),
  new ReLU(),
  new Jumpout({ sigma: 0.2, seed: 3 }),
  new Dense(16, 3),
]);
model.build(backend, [6], { seed: 1 });
const x = backend.tensor(
  Float32Array.from({ length: 48 }, (_, i) => Math.sin(i * 0.7)),
  [8, 6],
);
const labels = labelsTensor(backend, [0, 1, 2, 1, 0, 2, 2, 1], 3);
const loss = new SoftmaxCrossEntropy();
const optimizer = new SGD(model.parameters(), { lr: 0.2, momentum: 0.9 });
const losses: number[] = [];
for (let i = 0; i < 5; i++) {
  losses.push((await trainStep({ model, loss, optimizer, x, labels })).loss);
}
const weights: number[] = [];
for (const p of model.parameters()) weights.push(...await backend.read(p.value));
const stats = model.layers[2] instanceof Jumpout ? model.layers[2].lastStats : undefined;

// DataParallel: replicas on workers (worker_threads in Node) sharing memory;
// every run saves its checkpoint atomically and reads the file back.
const data = await backend.read(x);
const classes = [0, 1, 2, 1, 0, 2, 2, 1];
// Node's file system (Deno has it too), through a specifier that type
// checks leave alone: the scratch project has no Node type declarations.
const { mkdtemp, readdir, readFile, rm } = await import(
  ["node:fs", "promises"].join("/")
);
const dir = await mkdtemp("checkpoints-");
// Every run saves here, replacing the last run's file.
const file = \`\${dir}/run.safetensors\`;
const hex = async (bytes = new Uint8Array(0)) =>
  Array.from(
    new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
const train = async (
  workers = 0,
  steps = 0,
  global = false,
  checkpoint = new Uint8Array(0),
  workerUrl = "",
) => {
  const trainer = await DataParallel.create({
    model: [
      { type: "dense", inFeatures: 6, outFeatures: 8 },
      { type: "relu" },
      { type: "jumpout" },
      { type: "dense", inFeatures: 8, outFeatures: 3 },
    ],
    inputShape: [6],
    optimizer: { type: "sgd", lr: 0.1, momentum: 0.9 },
    backend: "wasm",
    workers,
    qPlusScope: global ? "global" : "shard",
    seed: 2,
    checkpoint: checkpoint.length > 0 ? checkpoint : undefined,
    workerUrl: workerUrl || undefined,
  });
  const losses = [];
  for (let i = 0; i < steps; i++) {
    losses.push((await trainer.trainStep(data, classes)).loss);
  }
  await trainer.saveCheckpoint(file);
  const saved = new Uint8Array(await readFile(file));
  const run = {
    workers: trainer.workers,
    transport: trainer.transport,
    step: trainer.stepCount,
    losses,
    checkpoint: await hex(saved),
    replicas: await Promise.all(
      (await trainer.replicaCheckpoints()).map((b) => hex(new Uint8Array(b))),
    ),
    probabilities: [...await trainer.predict(data)],
  };
  await trainer.dispose();
  return { run, saved };
};
const oneWorker = await train(1, 4);
const callingThread = await train(0, 4);
const twoWorkers = await train(2, 4);
const twoWorkersGlobal = await train(2, 4, true);
// Half the run, saved; the rest resumed from the file, on fresh workers.
const half = await train(2, 2);
const resumed = await train(2, 2, false, half.saved);
// The two-worker checkpoint, loaded by one worker, predicts the same.
const reloaded = await train(1, 0, false, twoWorkers.saved);
// Workers that die as they start: creating fails, naming one.
const crashed = await train(
  2,
  0,
  false,
  undefined,
  "data:text/javascript,throw new Error('no replica here')",
).then(
  () => false,
  (error) => /^Cannot create DataParallel: worker [01] of 2 crashed: .*no replica here/.test(error.message),
);
const files = await readdir(dir);
// A write into a missing directory fails, naming the file.
const missing = \`\${dir}/missing/run.safetensors\`;
const refused = await writeFileAtomic(missing, new Uint8Array([1])).then(
  () => false,
  (error) => error.message.startsWith(\`Cannot write \${missing}: \`),
);
await rm(dir, { recursive: true });
const parallel = {
  oneWorker: oneWorker.run,
  callingThread: callingThread.run,
  twoWorkers: twoWorkers.run,
  twoWorkersGlobal: twoWorkersGlobal.run,
  resumed: resumed.run,
  reloaded: reloaded.run,
  crashed,
  files,
  refused,
};
console.log(JSON.stringify({ losses, weights, stats, parallel }));
`;

/** One DataParallel run of the program, as it prints it. */
interface ParallelRun {
  workers: number;
  transport: string;
  step: number;
  losses: number[];
  /** SHA-256 of the checkpoint file it saved. */
  checkpoint: string;
  /** SHA-256 of each replica's checkpoint. */
  replicas: string[];
  probabilities: number[];
}

/** What the program prints of its DataParallel runs. */
interface ParallelRuns {
  oneWorker: ParallelRun;
  callingThread: ParallelRun;
  twoWorkers: ParallelRun;
  twoWorkersGlobal: ParallelRun;
  resumed: ParallelRun;
  reloaded: ParallelRun;
  /** Whether workers that die as they start make creation fail, naming one. */
  crashed: boolean;
  /** The files left in the checkpoints' directory. */
  files: string[];
  /** Whether a write into a missing directory failed, naming the file. */
  refused: boolean;
}

/**
 * Checks the program's DataParallel runs: workers that really run (two
 * sharing memory), replicas in step, one worker thread equal to the calling
 * thread, and checkpoints that resume and load bit for bit.
 */
function checkParallel(runs: ParallelRuns): void {
  const { oneWorker, callingThread, twoWorkers, twoWorkersGlobal } = runs;
  ok(runs.crashed, "workers that die as they start are reported");
  // Each save replaced the last file whole, leaving no temporary file.
  deepEqual(runs.files, ["run.safetensors"]);
  ok(runs.refused, "a write into a missing directory is refused");
  deepEqual([twoWorkers.workers, twoWorkers.transport], [2, "shared"]);
  deepEqual([oneWorker.workers, oneWorker.transport], [1, "none"]);
  deepEqual([callingThread.workers, callingThread.transport], [0, "none"]);
  deepEqual(twoWorkers.replicas, [
    twoWorkers.checkpoint,
    twoWorkers.checkpoint,
  ]);
  equal(twoWorkers.step, 4);
  ok(twoWorkers.losses[3] < twoWorkers.losses[0], "the loss falls");
  equal(twoWorkers.probabilities.length, 24);
  // A worker thread trains exactly as the calling thread does.
  deepEqual(oneWorker.losses, callingThread.losses);
  equal(oneWorker.checkpoint, callingThread.checkpoint);
  deepEqual(oneWorker.probabilities, callingThread.probabilities);
  // With q+ over the whole batch, two workers draw the masks one does; only
  // the order of float32 sums differs (shards, the gradient mean), so the
  // losses agree closely but not bit for bit.
  twoWorkersGlobal.losses.forEach((loss, i) => {
    const one = oneWorker.losses[i];
    ok(Math.abs(loss - one) <= 1e-5 * one, `step ${i}: ${loss} vs ${one}`);
  });
  // Saved after two steps and resumed from the file on new workers, the run
  // ends byte for byte where the uninterrupted one does.
  deepEqual(runs.resumed.losses, twoWorkers.losses.slice(2));
  equal(runs.resumed.checkpoint, twoWorkers.checkpoint);
  // One worker loads the two workers' checkpoint: the same state, and the
  // same predictions, bit for bit.
  equal(runs.reloaded.checkpoint, twoWorkers.checkpoint);
  deepEqual(runs.reloaded.probabilities, twoWorkers.probabilities);
}

/**
 * A TensorFlow.js program with the `./tfjs` entry's layer: on TensorFlow.js's
 * cpu and wasm backends it trains a small model with `model.fit`, then
 * checks the layer's next training call against the main entry's `Jumpout`
 * at the same step. `MAIN` and `TFJS` are replaced by where the two entries
 * come from; Node gets it without the two type assertions.
 */
const TFJS_PROGRAM = `import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";
import * as tfl from "@tensorflow/tfjs-layers";
import { createBackend, Jumpout } from "MAIN";
import { jumpout } from "TFJS";

const reference = await createBackend("reference");
const data = Float32Array.from({ length: 48 }, (_, i) => Math.sin(i * 0.7));
const results = [];
for (const name of ["cpu", "wasm"]) {
  await tf.setBackend(name);
  const regulariser = jumpout({ seed: 3, scope: "sample" });
  const model = tfl.sequential({
    layers: [
      tfl.layers.dense({
        inputShape: [6],
        units: 16,
        activation: "relu",
        kernelInitializer: tfl.initializers.glorotNormal({ seed: 1 }),
      }),
      regulariser,
      tfl.layers.dense({
        units: 3,
        kernelInitializer: tfl.initializers.glorotNormal({ seed: 2 }),
      }),
    ],
  });
  model.compile({ optimizer: tf.train.sgd(0.1), loss: "meanSquaredError" });
  const x = tf.tensor2d(data, [8, 6]);
  const y = tf.oneHot(tf.tensor1d([0, 1, 2, 1, 0, 2, 2, 1], "int32"), 3);
  // Unshuffled: with scope "sample", a row's mask depends on its place.
  const history = await model.fit(x, y, {
    epochs: 20,
    batchSize: 8,
    shuffle: false,
    verbose: 0,
  });
  const ours = new Jumpout({ seed: 3, scope: "sample" });
  ours.step = regulariser.step;
  const expected = await reference.read(
    ours.forward(reference.tensor(data, [8, 6]), { training: true }),
  );
  const masked = regulariser.apply(x, { training: true }) as tf.Tensor;
  const got = (await masked.data()) as Float32Array;
  results.push({
    backend: tf.getBackend(),
    losses: history.history.loss,
    stats: regulariser.lastStats,
    sameAsLibrary: got.every((v, i) => Object.is(v, expected[i])),
  });
}
console.log(JSON.stringify(results));
`;

/** Runs a command, returning its standard output; fails with its output. */
async function run(
  command: string,
  args: string[],
  cwd: string,
): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command(command, {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder();
  if (code !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} exited with ${code}:\n${
        text.decode(stdout)
      }\n${text.decode(stderr)}`,
    );
  }
  return text.decode(stdout);
}

/** The package as `npm install` puts it into a scratch project. */
interface Installed {
  /** What the bundle wrote. */
  files: { path: string; bytes: number }[];
  /** The files `npm pack` put into the tarball. */
  packedFiles: string[];
  /** The project's directory, `<dir>/app`. */
  app: string;
}

/**
 * Bundles the library into `<dir>/dist`, packs it with `npm pack` and
 * installs the tarball with `npm install` into a new project `<dir>/app`.
 */
async function installPackage(dir: string): Promise<Installed> {
  const { outDir, files } = await bundle({ outDir: join(dir, "dist") });
  const packed = JSON.parse(
    await run("npm", ["pack", "--json", "--pack-destination", dir], outDir),
  );
  const app = join(dir, "app");
  await Deno.mkdir(app);
  await Deno.writeTextFile(
    join(app, "package.json"),
    JSON.stringify({ name: "app", private: true, type: "module" }),
  );
  // The package has no dependencies (TensorFlow.js is an optional peer), so
  // this needs no registry.
  await run("npm", [
    "install",
    "--offline",
    "--no-audit",
    "--no-fund",
    join(dir, packed[0].filename),
  ], app);
  return {
    files,
    packedFiles: packed[0].files.map((f: { path: string }) => f.path),
    app,
  };
}

Deno.test("npm package: installed with npm, the same training runs from Node and Deno as from the source", async () => {
  const dir = await Deno.makeTempDir({ prefix: "jumpout-npm-" });
  try {
    const { files, packedFiles, app } = await installPackage(dir);
    const paths = files.map((f) => f.path);
    for (
      const want of [
        "jumpout.js",
        "jumpout.worker.js",
        "jumpout.d.ts",
        "types/mod.d.ts",
        "tfjs.js",
        "tfjs.d.ts",
        "package.json",
        "data/fashion-mnist/train-images-idx3-ubyte.gz",
      ]
    ) {
      ok(paths.includes(want), `the bundle lacks ${want}`);
    }
    for (const want of ["jumpout.d.ts", "types/mod.d.ts", "tfjs.js"]) {
      ok(packedFiles.includes(want), `the package lacks ${want}`);
    }
    ok(
      !packedFiles.some((f) => f.startsWith("demo")),
      "the demo is not packed",
    );

    const program = (library: string) => PROGRAM.replace("LIBRARY", library);
    // Node runs JavaScript: the same program with its one annotation removed.
    await Deno.writeTextFile(
      join(app, "train.mjs"),
      program(NAME).replace(
        "const losses: number[] = [];",
        "const losses = [];",
      )
        .replace("const weights: number[] = [];", "const weights = [];"),
    );
    await Deno.writeTextFile(join(app, "train.ts"), program(NAME));
    await Deno.writeTextFile(
      join(dir, "source.ts"),
      program(new URL("../mod.ts", import.meta.url).href),
    );

    const fromNode = JSON.parse(await run("node", ["train.mjs"], app));
    const deno = Deno.execPath();
    // Type-checks the program against the installed declarations first.
    await run(deno, ["check", "train.ts"], app);
    const fromDeno = JSON.parse(
      await run(deno, ["run", "-A", "train.ts"], app),
    );
    const fromSource = JSON.parse(
      await run(deno, [
        "run",
        "-A",
        "--config",
        join(ROOT, "deno.json"),
        join(dir, "source.ts"),
      ], dir),
    );

    // The README's Node example, as printed, against the installed package.
    await Deno.writeTextFile(
      join(app, "readme.mjs"),
      await readmeBlock("### Node (npm)", "js"),
    );
    const printed = (await run("node", ["readme.mjs"], app)).trim().split("\n")
      .map((line) => Number(line.split(" ")[1]));
    equal(printed.length, 5);
    // Unseeded masks make single steps noisy; later losses sit below the first.
    const later = printed.slice(1).reduce((a, b) => a + b, 0) / 4;
    ok(later < printed[0], printed.join(" "));

    // The README's example of workers and checkpoints in Node, as printed.
    await Deno.writeTextFile(
      join(app, "parallel.mjs"),
      await readmeBlock("#### Workers and checkpoints in Node", "js"),
    );
    const [workers, transport, steps, last] =
      (await run("node", ["parallel.mjs"], app)).trim().split(" ");
    deepEqual([workers, transport, steps], ["2", "shared", "51"]);
    ok(Number(last) < Math.log(3), `the loss after 51 steps is ${last}`);

    // Node finds the same data as Deno: the system's copy where there is
    // one, else the embedded subset.
    await Deno.writeTextFile(
      join(app, "data.mjs"),
      `import { loadFashionMnist } from "@jumpout/jumpout";\n` +
        `const { train, test } = await loadFashionMnist();\n` +
        `console.log(train.labels.length, test.labels.length);\n`,
    );
    const { train, test } = await loadFashionMnist();
    equal(
      (await run("node", ["data.mjs"], app)).trim(),
      `${train.labels.length} ${test.labels.length}`,
    );

    // The README's first example, as printed (the whole data set when the
    // system has it: three epochs, 0.86; the subset gives about 0.79).
    await Deno.writeTextFile(
      join(app, "example.mjs"),
      await readmeBlock("## Example", "ts"),
    );
    const evaluated = await run("node", ["example.mjs"], app);
    ok(Number(/accuracy: ([0-9.]+)/.exec(evaluated)?.[1]) > 0.6, evaluated);

    // The README's walkthrough, as printed: Node from the package prints
    // what Deno prints from the source.
    await Deno.writeTextFile(
      join(app, "walkthrough.mjs"),
      await readmeBlock("## A walkthrough", "js"),
    );
    const walked = walkthroughLines(
      await run("node", ["walkthrough.mjs"], app),
    );
    ok(walked.some((line) => line.startsWith("predicted ")), walked.join("\n"));
    deepEqual(
      walked,
      walkthroughLines(
        await runReadmeExample("## A walkthrough", { language: "js" }),
      ),
    );

    equal(fromSource.losses.length, 5);
    ok(fromSource.losses[4] < fromSource.losses[0], "the loss falls");
    checkParallel(fromNode.parallel);
    deepEqual(fromDeno, fromSource);
    deepEqual(fromNode, fromSource);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("npm package: the ./tfjs entry, beside an installed TensorFlow.js, trains the same from Node and Deno as from the source on the cpu and wasm backends", async () => {
  const dir = await Deno.makeTempDir({ prefix: "jumpout-npm-tfjs-" });
  try {
    const { files, app } = await installPackage(dir);
    // The main entry's files never import TensorFlow.js; the ./tfjs entry does.
    for (const f of files.filter((f) => f.path.endsWith(".js"))) {
      const code = await Deno.readTextFile(join(dir, "dist", f.path));
      equal(
        code.includes("@tensorflow/"),
        f.path === "tfjs.js",
        `${f.path} and TensorFlow.js`,
      );
    }
    // TensorFlow.js is the caller's: Deno's npm client installs it from its
    // cache into the folder above the project, where Node's lookup finds it.
    const imports = JSON.parse(
      await Deno.readTextFile(join(ROOT, "deno.json")),
    ).imports as Record<string, string>;
    const tfjs = [
      "@tensorflow/tfjs-core",
      "@tensorflow/tfjs-layers",
      "@tensorflow/tfjs-backend-cpu",
      "@tensorflow/tfjs-backend-wasm",
    ];
    await Deno.writeTextFile(
      join(dir, "package.json"),
      JSON.stringify({
        private: true,
        dependencies: Object.fromEntries(
          tfjs.map((p) => [p, imports[p].slice(`npm:${p}@`.length)]),
        ),
      }),
    );
    const deno = Deno.execPath();
    await run(deno, ["install"], dir);

    const program = (main: string, tfjsEntry: string) =>
      TFJS_PROGRAM.replace('"MAIN"', JSON.stringify(main))
        .replace('"TFJS"', JSON.stringify(tfjsEntry));
    await Deno.writeTextFile(
      join(app, "tfjs.mjs"),
      program(NAME, `${NAME}/tfjs`).replace(
        / as (tf\.Tensor|Float32Array)/g,
        "",
      ),
    );
    await Deno.writeTextFile(
      join(app, "tfjs.ts"),
      program(NAME, `${NAME}/tfjs`),
    );
    await Deno.writeTextFile(
      join(dir, "tfjs_source.ts"),
      program(
        new URL("../mod.ts", import.meta.url).href,
        new URL("../tfjs.ts", import.meta.url).href,
      ),
    );
    // TensorFlow.js greets Node on stderr; the results are stdout's last line.
    const results = (out: string) => JSON.parse(out.trim().split("\n").at(-1)!);
    const fromNode = results(await run("node", ["tfjs.mjs"], app));
    await run(deno, ["check", "tfjs.ts"], app);
    const fromDeno = results(await run(deno, ["run", "-A", "tfjs.ts"], app));
    const fromSource = results(
      await run(deno, [
        "run",
        "-A",
        "--config",
        join(ROOT, "deno.json"),
        join(dir, "tfjs_source.ts"),
      ], dir),
    );

    deepEqual(fromSource.map((r: { backend: string }) => r.backend), [
      "cpu",
      "wasm",
    ]);
    for (const r of fromSource) {
      ok(r.sameAsLibrary, `${r.backend}: the masks of the library's Jumpout`);
      ok(r.losses.at(-1) < r.losses[0], `${r.backend}: ${r.losses}`);
      equal(r.stats.length, 8, "one entry per sample");
    }
    deepEqual(fromDeno, fromSource);
    deepEqual(fromNode, fromSource);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
