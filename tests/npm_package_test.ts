/**
 * The npm package as a user gets it: bundled (`tools/bundle.ts`), packed with
 * `npm pack`, installed into a scratch project with `npm install`, then one
 * program that trains a small Jumpout network (forward, backward, update)
 * runs from Node and from Deno against the installed package, and from Deno
 * against the source tree. All three must print the same numbers: the same
 * wasm kernels run on the same inputs and seeds. The README's Node example
 * runs there too.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { bundle } from "../tools/bundle.ts";
import { readmeBlock } from "./_helpers/readme.ts";

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
} from "LIBRARY";

const backend = await createBackend("wasm");
const model = new Sequential([
  new Dense(6, 16),
  new ReLU(),
  new Jumpout({ sigma: 0.2, seed: 3 }),
  new Dense(16, 3),
]);
model.build(backend, [8, 6], { seed: 1 });
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

// The trainer too: in Node (no Worker) it runs its replica on this thread.
const trainer = await DataParallel.create({
  model: [
    { type: "dense", inFeatures: 6, outFeatures: 8 },
    { type: "relu" },
    { type: "jumpout" },
    { type: "dense", inFeatures: 8, outFeatures: 3 },
  ],
  inputShape: [6],
  optimizer: { type: "sgd", lr: 0.1 },
  backend: "wasm",
  workers: 0,
  seed: 2,
});
const data = await backend.read(x);
const step = await trainer.trainStep(data, [0, 1, 2, 1, 0, 2, 2, 1]);
const probabilities = [...await trainer.predict(data.slice(0, 36))];
await trainer.dispose();
console.log(JSON.stringify({ losses, weights, stats, step, probabilities }));
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

Deno.test("npm package: installed with npm, the same training runs from Node and Deno as from the source", async () => {
  const dir = await Deno.makeTempDir({ prefix: "jumpout-npm-" });
  try {
    const { outDir, files } = await bundle({ outDir: join(dir, "dist") });
    const paths = files.map((f) => f.path);
    for (
      const want of [
        "jumpout.js",
        "jumpout.worker.js",
        "jumpout.d.ts",
        "types/mod.d.ts",
        "package.json",
        "data/fashion-mnist/train-images-idx3-ubyte.gz",
      ]
    ) {
      ok(paths.includes(want), `the bundle lacks ${want}`);
    }

    const packed = JSON.parse(
      await run("npm", ["pack", "--json", "--pack-destination", dir], outDir),
    );
    const tarball = join(dir, packed[0].filename);
    const packedFiles: string[] = packed[0].files.map((f: { path: string }) =>
      f.path
    );
    ok(
      packedFiles.includes("jumpout.d.ts") &&
        packedFiles.includes("types/mod.d.ts"),
    );
    ok(
      !packedFiles.some((f) => f.startsWith("demo")),
      "the demo is not packed",
    );

    const app = join(dir, "app");
    await Deno.mkdir(app);
    await Deno.writeTextFile(
      join(app, "package.json"),
      JSON.stringify({ name: "app", private: true, type: "module" }),
    );
    // The package has no dependencies, so this needs no registry.
    await run("npm", [
      "install",
      "--offline",
      "--no-audit",
      "--no-fund",
      tarball,
    ], app);

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

    equal(fromSource.losses.length, 5);
    ok(fromSource.losses[4] < fromSource.losses[0], "the loss falls");
    equal(fromSource.probabilities.length, 18);
    deepEqual(fromDeno, fromSource);
    deepEqual(fromNode, fromSource);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
