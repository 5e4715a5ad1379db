/**
 * The model builders: published parameter counts, the blocks' layout, the
 * regulariser's place, and every bad option refused naming it.
 */
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import {
  createBackend,
  type LayerSpec,
  modelFromSpec,
  preactResNet,
  wideResNet,
} from "../mod.ts";

const backend = await createBackend("wasm");

/** Trainable parameters of the specs' model for samples of `shape`. */
function parameterCount(specs: LayerSpec[], shape: number[]): number {
  const model = modelFromSpec(specs);
  model.build(backend, shape, { seed: 1 });
  const count = model.parameters().reduce((n, p) => n + p.value.size, 0);
  model.dispose();
  return count;
}

/** Every residual block of a spec list. */
function blocks(specs: LayerSpec[]) {
  return specs.flatMap((s) => s.type === "residual" ? [s] : []);
}

for (
  const [name, specs, published] of [
    ["ResNet-20", preactResNet({ inChannels: 3 }), 0.27e6],
    ["WRN-16-8", wideResNet({ depth: 16, widen: 8 }), 11.0e6],
    ["WRN-28-10", wideResNet({ depth: 28, widen: 10 }), 36.5e6],
  ] as const
) {
  Deno.test(`${name}: parameters within 2% of the published count`, () => {
    const count = parameterCount([...specs], [3, 32, 32]);
    ok(
      Math.abs(count / published - 1) <= 0.02,
      `${count} parameters, published ${published}`,
    );
  });
}

Deno.test("preactResNet: 3n blocks, two with a strided 1×1 shortcut, 28×28 in, classes out", () => {
  for (const [depth, n] of [[8, 1], [20, 3], [32, 5]]) {
    const specs = preactResNet({ depth, classes: 7 });
    const residual = blocks(specs);
    equal(residual.length, 3 * n);
    const projections = residual.filter((b) => b.shortcut !== undefined);
    deepEqual(
      projections.map((b) => b.shortcut),
      [16, 32].map((c) => [{
        type: "conv2d",
        inChannels: c,
        outChannels: 2 * c,
        kernelSize: 1,
        options: { stride: 2, padding: 0, bias: false },
      }]),
    );
    const model = modelFromSpec(specs);
    deepEqual(model.outputShape([5, 1, 28, 28]), [5, 7]);
  }
});

Deno.test("builders: the regulariser sits between each block's two convolutions", () => {
  const cases: [LayerSpec[], LayerSpec][] = [
    [preactResNet({ regularizer: "jumpout" }), { type: "jumpout" }],
    [
      wideResNet({ depth: 10, widen: 2, regularizer: "dropout" }),
      { type: "dropout", options: { rate: 0.3 } },
    ],
    [
      preactResNet({
        depth: 8,
        regularizer: { type: "jumpout", options: { sigma: 0.2 } },
      }),
      { type: "jumpout", options: { sigma: 0.2 } },
    ],
  ];
  for (const [specs, regularizer] of cases) {
    for (const block of blocks(specs)) {
      const types = block.body.map((s) => s.type);
      const at = types.lastIndexOf("conv2d");
      deepEqual(block.body[at - 1], regularizer);
      deepEqual(types.slice(at - 3, at - 1), ["batch_norm", "relu"]);
      equal(types.filter((t) => t === regularizer.type).length, 1);
    }
  }
  for (const block of blocks(preactResNet())) {
    ok(!block.body.some((s) => s.type === "jumpout" || s.type === "dropout"));
  }
});

Deno.test("builders: a regulariser spec is copied into each block, not shared", () => {
  const regularizer: LayerSpec = { type: "jumpout", options: { sigma: 0.2 } };
  const specs = preactResNet({ depth: 8, regularizer });
  const [a, b] = blocks(specs).map((blk) =>
    blk.body.find((s) => s.type === "jumpout")
  );
  ok(a !== b && a !== regularizer);
});

Deno.test("builders: every bad option is refused, naming it and its value", () => {
  const cases: [() => unknown, RegExp][] = [
    [() => preactResNet({ depth: 21 }), /depth must be 6n \+ 2 .*got 21/],
    [() => preactResNet({ depth: 2 }), /depth must be an integer >= 8, got 2/],
    [() => preactResNet({ width: 0 }), /width must be an integer >= 1, got 0/],
    [
      () => preactResNet({ inChannels: 1.5 }),
      /inChannels must be an integer >= 1, got 1.5/,
    ],
    [
      () => preactResNet({ classes: 0 }),
      /classes must be an integer >= 1, got 0/,
    ],
    [
      () => preactResNet({ regularizer: "jumpot" as never }),
      /regularizer must be "none", "dropout", "jumpout" or a layer spec, got "jumpot"/,
    ],
    [
      () => wideResNet({ depth: 20, widen: 4 }),
      /depth must be 6n \+ 4 .*got 20/,
    ],
    [
      () => wideResNet({ depth: 16, widen: 0 }),
      /widen must be an integer >= 1, got 0/,
    ],
    [
      () => wideResNet(undefined as never),
      /options must be an object with depth and widen/,
    ],
  ];
  for (const [make, message] of cases) throws(make, message);
});
