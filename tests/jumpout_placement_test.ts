/**
 * A Jumpout that does not get a ReLU's output is warned about when its
 * model is built, once per layer, naming it and what feeds it; the models
 * the library and its command line build are silent, which also checks that
 * they put every Jumpout after a ReLU.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import {
  createBackend,
  Dense,
  Dropout,
  Flatten,
  Jumpout,
  type LayerSpec,
  MaxPool2d,
  modelFromSpec,
  preactResNet,
  ReLU,
  Residual,
  Sequential,
  wideResNet,
} from "../mod.ts";
import { networkSpecs } from "../cli/_models.ts";
import { fullJumpout } from "../cli/_resnet_experiment.ts";

const backend = await createBackend("reference");

/** What `console.warn` printed while `fn` ran. */
function warnings(fn: () => void): string[] {
  const printed: string[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => printed.push(args.join(" "));
  try {
    fn();
  } finally {
    console.warn = warn;
  }
  return printed;
}

Deno.test("a Jumpout after a Dense layer is warned about once, naming both", () => {
  const model = new Sequential([new Dense(4, 8), new Jumpout(), new ReLU()]);
  const printed = warnings(() => {
    model.build(backend, [4], { seed: 1 });
    model.build(backend, [4], { seed: 2 });
  });
  equal(printed.length, 1, printed.join("\n"));
  match(
    printed[0],
    /^Jumpout at layer 1 gets its input from Dense\(4 → 8\) \(layer 0\), not from a ReLU: it divides its dropout rate by q\+, the fraction of its inputs > 0, which counts active units only in a ReLU's output/,
  );
  match(printed[0], /put it right after a ReLU/);
});

Deno.test("misplaced: the model's input, after a residual sum, first in a branch", () => {
  const printed = warnings(() => {
    new Sequential([new Jumpout(), new Dense(4, 4)]).build(backend, [4]);
    new Sequential([
      new Dense(4, 4),
      new Residual([new Jumpout(), new Dense(4, 4)]),
      new Jumpout(),
    ]).build(backend, [4]);
  });
  deepEqual(printed.map((m) => m.split(", not")[0]), [
    "Jumpout at layer 0 gets the model's input",
    "Jumpout at layer 1.body.0 gets its input from Dense(4 → 4) (layer 0)",
    "Jumpout at layer 2 gets its input from Residual(2 layers) (layer 1)",
  ]);
});

Deno.test("well placed: after a ReLU, with pooling, Flatten or dropout between, in a block after a ReLU", () => {
  const printed = warnings(() => {
    new Sequential([
      new Dense(16, 16),
      new ReLU(),
      new Dropout({ rate: 0.1 }),
      new Jumpout(),
      new Residual([
        new Jumpout(),
        new Dense(16, 16),
        new ReLU(),
        new Jumpout(),
      ], [
        new Jumpout(),
      ]),
    ]).build(backend, [16]);
    new Sequential([new ReLU(), new MaxPool2d(2), new Flatten(), new Jumpout()])
      .build(backend, [1, 4, 4]);
    // Not normalised by q+: placement does not matter to it.
    new Sequential([new Dense(4, 4), new Jumpout({ normalize: false })]).build(
      backend,
      [4],
    );
    new Sequential([new Dense(4, 4), new Dropout({ rate: 0.5 })]).build(
      backend,
      [4],
    );
  });
  deepEqual(printed, []);
});

Deno.test("the library's models are silent: MLP, CNN, pre-activation ResNet, Wide ResNet", () => {
  const jumpout = fullJumpout(0.1);
  const models: [string, LayerSpec[], number[]][] = [
    ["mlp", networkSpecs("mlp", jumpout), [784]],
    ["cnn", networkSpecs("cnn", jumpout), [1, 28, 28]],
    ["resnet", networkSpecs("resnet8", jumpout), [1, 28, 28]],
    [
      "preactResNet",
      preactResNet({ depth: 8, regularizer: "jumpout" }),
      [1, 28, 28],
    ],
    [
      "wideResNet",
      wideResNet({ depth: 10, widen: 1, regularizer: "jumpout" }),
      [3, 32, 32],
    ],
  ];
  for (const [name, specs, shape] of models) {
    ok(JSON.stringify(specs).includes('"type":"jumpout"'), name);
    const model = modelFromSpec(specs);
    const printed = warnings(() => model.build(backend, shape, { seed: 1 }));
    deepEqual(printed, [], name);
    model.dispose();
  }
});
