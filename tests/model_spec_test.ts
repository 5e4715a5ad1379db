/**
 * Layer specs: every layer type round-trips through its spec, specs survive
 * a structured clone, a model made from specs is bit for bit the model made
 * by hand (reference backend, same seed), and bad specs fail naming the
 * index and the field.
 */
import { deepEqual, equal, notDeepEqual, ok, throws } from "node:assert/strict";
import { createBackend, type Tensor } from "../mod.ts";
import { Dropout } from "../src/layers/dropout.ts";
import { Jumpout } from "../src/layers/jumpout.ts";
import type { Layer } from "../src/layers/layer.ts";
import { BatchNorm } from "../src/layers/batch_norm.ts";
import { Conv2d } from "../src/layers/conv2d.ts";
import { Dense } from "../src/layers/dense.ts";
import { Flatten } from "../src/layers/flatten.ts";
import { GlobalAvgPool } from "../src/layers/global_avg_pool.ts";
import { MaxPool2d } from "../src/layers/max_pool2d.ts";
import { AvgPool2d } from "../src/layers/avg_pool2d.ts";
import { ReLU } from "../src/layers/relu.ts";
import {
  layerFromSpec,
  type LayerSpec,
  modelFromSpec,
  specOfLayer,
} from "../src/io/model_spec.ts";
import { Sequential } from "../src/layers/sequential.ts";
import { pattern } from "./_helpers/backends.ts";

const backend = await createBackend("reference");
const read = (t: Tensor) => Float32Array.from(backend.readSync!(t));

/** Jumpout's defaults, as the paper gives them, written out here. */
const JUMPOUT_DEFAULTS = {
  sigma: 0.1,
  pMin: 0.01,
  pMax: 0.6,
  rescalePower: 0.75,
  scope: "batch",
  monotone: true,
  normalize: true,
} as const;

/**
 * Each spec with what specOfLayer must give for the layer it makes: the
 * rule is every option present with its value in effect, undefined fields
 * left out, and Jumpout/Dropout seeds kept only where given.
 */
const ROUND_TRIPS: [LayerSpec, LayerSpec][] = [
  [
    { type: "dense", inFeatures: 3, outFeatures: 2 },
    { type: "dense", inFeatures: 3, outFeatures: 2, options: { bias: true } },
  ],
  [
    { type: "dense", inFeatures: 5, outFeatures: 7, options: { bias: false } },
    { type: "dense", inFeatures: 5, outFeatures: 7, options: { bias: false } },
  ],
  [
    { type: "conv2d", inChannels: 3, outChannels: 8, kernelSize: 3 },
    {
      type: "conv2d",
      inChannels: 3,
      outChannels: 8,
      kernelSize: 3,
      options: { stride: 1, padding: 0, bias: true },
    },
  ],
  [
    {
      type: "conv2d",
      inChannels: 2,
      outChannels: 4,
      kernelSize: 5,
      options: { stride: 2, padding: 2, bias: false },
    },
    {
      type: "conv2d",
      inChannels: 2,
      outChannels: 4,
      kernelSize: 5,
      options: { stride: 2, padding: 2, bias: false },
    },
  ],
  [
    { type: "batch_norm", channels: 4 },
    {
      type: "batch_norm",
      channels: 4,
      options: { momentum: 0.1, epsilon: 1e-5 },
    },
  ],
  [
    { type: "batch_norm", channels: 6, options: { momentum: 0.3 } },
    {
      type: "batch_norm",
      channels: 6,
      options: { momentum: 0.3, epsilon: 1e-5 },
    },
  ],
  [{ type: "relu" }, { type: "relu" }],
  [
    { type: "max_pool2d", kernelSize: 3 },
    { type: "max_pool2d", kernelSize: 3, options: { stride: 3, padding: 0 } },
  ],
  [
    { type: "max_pool2d", kernelSize: 3, options: { stride: 2, padding: 1 } },
    { type: "max_pool2d", kernelSize: 3, options: { stride: 2, padding: 1 } },
  ],
  [
    { type: "avg_pool2d", kernelSize: 2 },
    { type: "avg_pool2d", kernelSize: 2, options: { stride: 2, padding: 0 } },
  ],
  [
    { type: "avg_pool2d", kernelSize: 3, options: { stride: 1, padding: 1 } },
    { type: "avg_pool2d", kernelSize: 3, options: { stride: 1, padding: 1 } },
  ],
  [{ type: "global_avg_pool" }, { type: "global_avg_pool" }],
  [{ type: "flatten" }, { type: "flatten" }],
  [{ type: "jumpout" }, { type: "jumpout", options: { ...JUMPOUT_DEFAULTS } }],
  [
    {
      type: "jumpout",
      options: { sigma: 0.2, pMax: 0.5, scope: "sample", seed: 9 },
    },
    {
      type: "jumpout",
      options: {
        ...JUMPOUT_DEFAULTS,
        sigma: 0.2,
        pMax: 0.5,
        scope: "sample",
        seed: 9,
      },
    },
  ],
  [
    {
      type: "jumpout",
      options: { monotone: false, normalize: false, rate: 0.25 },
    },
    {
      type: "jumpout",
      options: {
        ...JUMPOUT_DEFAULTS,
        monotone: false,
        normalize: false,
        rate: 0.25,
      },
    },
  ],
  [
    { type: "dropout", options: { rate: 0.3 } },
    { type: "dropout", options: { rate: 0.3, scope: "batch" } },
  ],
  [
    { type: "dropout", options: { rate: 0.5, scope: "sample", seed: 4 } },
    { type: "dropout", options: { rate: 0.5, scope: "sample", seed: 4 } },
  ],
];

Deno.test("specOfLayer(layerFromSpec(spec)) is the spec with defaults filled in", () => {
  const types = new Set(ROUND_TRIPS.map(([spec]) => spec.type));
  equal(types.size, 10, "every layer type is covered");
  for (const [spec, filled] of ROUND_TRIPS) {
    const described = specOfLayer(layerFromSpec(spec));
    deepEqual(described, filled, JSON.stringify(spec));
    // The filled spec is a fixed point.
    deepEqual(specOfLayer(layerFromSpec(described)), filled);
  }
});

Deno.test("layerFromSpec makes the class and arguments of the spec", () => {
  const conv = layerFromSpec({
    type: "conv2d",
    inChannels: 2,
    outChannels: 4,
    kernelSize: 5,
    options: { stride: 2, padding: 2, bias: false },
  });
  ok(conv instanceof Conv2d);
  deepEqual(
    [
      conv.inChannels,
      conv.outChannels,
      conv.kernelSize,
      conv.stride,
      conv.padding,
      conv.hasBias,
    ],
    [2, 4, 5, 2, 2, false],
  );
  const dropout = layerFromSpec({
    type: "dropout",
    options: { rate: 0.5, seed: 4 },
  });
  ok(dropout instanceof Dropout);
  equal(dropout.options.rate, 0.5);
  equal(dropout.options.seed, 4);
  // An explicit seed survives a build with any model seed.
  dropout.build(backend, [2, 3], 123, "0.");
  equal(dropout.options.seed, 4);
  const jumpout = layerFromSpec({ type: "jumpout" });
  ok(jumpout instanceof Jumpout && !(jumpout instanceof Dropout));
  jumpout.build(backend, [2, 3], 123, "0.");
  equal(jumpout.options.seed, 123);
});

Deno.test("specOfLayer describes hand-built layers", () => {
  const layers: Layer[] = [
    new Dense(4, 3, { bias: false }),
    new Conv2d(1, 2, 3, { padding: 1 }),
    new BatchNorm(2, { epsilon: 1e-3 }),
    new ReLU(),
    new MaxPool2d(2, { stride: 1 }),
    new AvgPool2d(3, { stride: 2, padding: 1 }),
    new GlobalAvgPool(),
    new Flatten(),
    new Jumpout({ rescalePower: 0.5 }),
    new Dropout({ rate: 0.1 }),
  ];
  deepEqual(layers.map(specOfLayer), [
    { type: "dense", inFeatures: 4, outFeatures: 3, options: { bias: false } },
    {
      type: "conv2d",
      inChannels: 1,
      outChannels: 2,
      kernelSize: 3,
      options: { stride: 1, padding: 1, bias: true },
    },
    {
      type: "batch_norm",
      channels: 2,
      options: { momentum: 0.1, epsilon: 1e-3 },
    },
    { type: "relu" },
    { type: "max_pool2d", kernelSize: 2, options: { stride: 1, padding: 0 } },
    { type: "avg_pool2d", kernelSize: 3, options: { stride: 2, padding: 1 } },
    { type: "global_avg_pool" },
    { type: "flatten" },
    { type: "jumpout", options: { ...JUMPOUT_DEFAULTS, rescalePower: 0.5 } },
    { type: "dropout", options: { rate: 0.1, scope: "batch" } },
  ]);
});

Deno.test("specOfLayer keeps a given Jumpout seed and leaves out one taken from the build", () => {
  const given = new Jumpout({ seed: 77 });
  const built = new Jumpout();
  built.build(backend, [2, 3], 77, "0.");
  // Both use seed 77, but only one was made with it.
  equal(given.options.seed, built.options.seed);
  equal(
    (specOfLayer(given) as { options: { seed?: number } }).options.seed,
    77,
  );
  ok(!("seed" in (specOfLayer(built) as { options: object }).options));
  const dropout = specOfLayer(new Dropout({ rate: 0.2, seed: 1 }));
  equal((dropout as { options: { seed?: number } }).options.seed, 1);
});

Deno.test("specOfLayer rejects other layers, subclasses included, naming them", () => {
  class Scaled extends Dense {
    override get name(): string {
      return "Scaled(4 → 2)";
    }
  }
  throws(
    () => specOfLayer(new Scaled(4, 2)),
    {
      name: "TypeError",
      message:
        "Cannot describe Scaled(4 → 2) as a spec: layer must be made by one of the library's own layer classes, the only ones that can run in workers, got an instance of Scaled",
    },
  );
  const custom = { ...new ReLU(), name: "Custom" } as unknown as Layer;
  throws(
    () => specOfLayer(custom),
    /^TypeError: Cannot describe Custom as a spec: .*got an instance of Object$/,
  );
  throws(
    () => specOfLayer(null as unknown as Layer),
    /Cannot describe a layer as a spec: layer must be a layer, got null/,
  );
});

Deno.test("every spec survives structuredClone and rebuilds the same layer", () => {
  for (const [spec, filled] of ROUND_TRIPS) {
    const clone = structuredClone(spec);
    deepEqual(clone, spec);
    deepEqual(specOfLayer(layerFromSpec(clone)), filled);
    const described = structuredClone(specOfLayer(layerFromSpec(spec)));
    deepEqual(described, filled);
  }
});

/** Every layer type in one image network for [N, 1, 8, 8] inputs. */
function imageNetwork(): { layers: Layer[]; specs: LayerSpec[] } {
  return {
    layers: [
      new Conv2d(1, 4, 3, { padding: 1, bias: false }),
      new BatchNorm(4, { momentum: 0.2 }),
      new ReLU(),
      new Jumpout({ sigma: 0.3, scope: "sample" }),
      new MaxPool2d(2),
      new Conv2d(4, 6, 3, { stride: 2, padding: 1 }),
      new ReLU(),
      new AvgPool2d(3, { stride: 1, padding: 1 }),
      new Flatten(),
      new Dense(24, 16),
      new ReLU(),
      new Dropout({ rate: 0.3 }),
      new Dense(16, 5),
    ],
    specs: [
      {
        type: "conv2d",
        inChannels: 1,
        outChannels: 4,
        kernelSize: 3,
        options: { padding: 1, bias: false },
      },
      { type: "batch_norm", channels: 4, options: { momentum: 0.2 } },
      { type: "relu" },
      { type: "jumpout", options: { sigma: 0.3, scope: "sample" } },
      { type: "max_pool2d", kernelSize: 2 },
      {
        type: "conv2d",
        inChannels: 4,
        outChannels: 6,
        kernelSize: 3,
        options: { stride: 2, padding: 1 },
      },
      { type: "relu" },
      { type: "avg_pool2d", kernelSize: 3, options: { padding: 1, stride: 1 } },
      { type: "flatten" },
      { type: "dense", inFeatures: 24, outFeatures: 16 },
      { type: "relu" },
      { type: "dropout", options: { rate: 0.3 } },
      { type: "dense", inFeatures: 16, outFeatures: 5 },
    ],
  };
}

/** A network with explicit mask seeds and global pooling. */
function seededNetwork(): { layers: Layer[]; specs: LayerSpec[] } {
  return {
    layers: [
      new Conv2d(1, 3, 3),
      new ReLU(),
      new GlobalAvgPool(),
      new BatchNorm(3),
      new Jumpout({ seed: 5, pMax: 0.5 }),
      new Dense(3, 2),
      new Dropout({ rate: 0.4, seed: 6, scope: "sample" }),
    ],
    specs: [
      { type: "conv2d", inChannels: 1, outChannels: 3, kernelSize: 3 },
      { type: "relu" },
      { type: "global_avg_pool" },
      { type: "batch_norm", channels: 3 },
      { type: "jumpout", options: { seed: 5, pMax: 0.5 } },
      { type: "dense", inFeatures: 3, outFeatures: 2 },
      { type: "dropout", options: { rate: 0.4, seed: 6, scope: "sample" } },
    ],
  };
}

/**
 * Two training steps' outputs, input gradients, parameter gradients and the
 * whole state (parameters and running statistics), as host arrays.
 */
function run(model: Sequential, seed: number): Float32Array[] {
  const shape = [6, 1, 8, 8];
  const out = [6, ...model.build(backend, shape.slice(1), { seed })];
  const x = backend.tensor(pattern(6 * 64, 3), shape);
  const dy = backend.tensor(
    pattern(out.reduce((a, b) => a * b), 4),
    out,
  );
  const seen: Float32Array[] = [];
  for (let step = 0; step < 2; step++) {
    const y = model.forward(x, { training: true });
    const dx = model.backward(dy);
    seen.push(read(y), read(dx));
    seen.push(...model.parameters().map((p) => read(p.grad)));
    backend.release(y);
    backend.release(dx);
  }
  seen.push(...[...model.state().values()].map(read));
  seen.push(read(model.forward(x, { training: false })));
  model.dispose();
  return seen;
}

for (
  const [what, network] of [
    ["every layer type", imageNetwork],
    ["explicit mask seeds", seededNetwork],
  ] as const
) {
  Deno.test(`a model from specs matches the hand-built one bit for bit: ${what}`, () => {
    const seed = 2024;
    const byHand = run(new Sequential(network().layers), seed);
    const fromSpecs = run(modelFromSpec(network().specs), seed);
    const cloned = run(modelFromSpec(structuredClone(network().specs)), seed);
    // Float32Array deepEqual compares every element exactly (0 ≠ -0 included).
    deepEqual(fromSpecs, byHand);
    deepEqual(cloned, byHand);
    // The comparison sees the seed: another one gives other weights or masks.
    notDeepEqual(run(new Sequential(network().layers), seed + 1), byHand);
  });
}

Deno.test("specs taken from a hand-built model rebuild it bit for bit", () => {
  const seed = 7;
  const model = new Sequential(imageNetwork().layers);
  const specs = structuredClone(model.layers.map(specOfLayer));
  deepEqual(run(modelFromSpec(specs), seed), run(model, seed));
});

Deno.test("modelFromSpec names the index and the field of a bad spec", () => {
  const what = "Cannot build a model from specs";
  const bad = (specs: unknown) => () => modelFromSpec(specs as LayerSpec[]);
  throws(bad([{ type: "relu" }, { type: "relu" }, { type: "dens" }]), {
    name: "TypeError",
    message:
      `${what}: specs[2].type must be one of "dense", "conv2d", "batch_norm", "relu", "max_pool2d", "avg_pool2d", "global_avg_pool", "flatten", "jumpout", "dropout", "residual", got "dens"`,
  });
  throws(
    bad([{ type: "dense", inFeatures: 2, outFeature: 3 }]),
    {
      name: "TypeError",
      message:
        `${what}: specs[0] has an unknown field "outFeature" (known fields of "dense" specs: type, inFeatures, outFeatures, options)`,
    },
  );
  throws(
    bad([
      { type: "flatten" },
      { type: "max_pool2d", kernelSize: 2, options: { strid: 1 } },
    ]),
    new RegExp(
      `^TypeError: ${what}: specs\\[1\\]\\.options has an unknown field "strid" \\(known fields of "max_pool2d" options: stride, padding\\)$`,
    ),
  );
  throws(bad([{ type: "avg_pool2d", kernelSize: 2, options: { pad: 1 } }]), {
    name: "TypeError",
    message:
      `${what}: specs[0].options has an unknown field "pad" (known fields of "avg_pool2d" options: stride, padding)`,
  });
  // A field of another type is unknown too.
  throws(
    bad([{ type: "relu", options: {} }]),
    /specs\[0\] has an unknown field "options" \(known fields of "relu" specs: type\)/,
  );
  throws(bad([{ type: "jumpout", options: { sigma: 0.1, pmax: 0.5 } }]), {
    name: "TypeError",
    message:
      `${what}: specs[0].options has an unknown field "pmax" (known fields of "jumpout" options: sigma, pMin, pMax, rescalePower, scope, seed, monotone, normalize, rate)`,
  });
  throws(bad([{ type: "relu" }, null]), {
    name: "TypeError",
    message: `${what}: specs[1] must be an object, got null`,
  });
  throws(bad([["relu"]]), /specs\[0\] must be an object, got an array/);
  throws(bad([{}]), /specs\[0\]\.type must be one of .*, got undefined$/);
  throws(bad([{ type: "toString" }]), /specs\[0\]\.type must be one of/);
  throws(
    bad([{ type: "dense", inFeatures: 2, outFeatures: 3, options: null }]),
    /specs\[0\]\.options must be an object, got null/,
  );
  throws(bad({ type: "relu" }), {
    name: "TypeError",
    message: `${what}: specs must be an array of layer specs, got an object`,
  });
});

Deno.test("modelFromSpec restates a constructor's error with the index", () => {
  const specs = [
    { type: "relu" },
    { type: "dense", inFeatures: 4, outFeatures: 0 },
  ] as LayerSpec[];
  let caught: unknown;
  try {
    modelFromSpec(specs);
  } catch (error) {
    caught = error;
  }
  ok(caught instanceof RangeError);
  equal(
    caught.message,
    "Cannot build a model from specs: specs[1] does not make a layer: outFeatures must be an integer >= 1, got 0",
  );
  ok(caught.cause instanceof RangeError);
  equal(
    (caught.cause as Error).message,
    "Cannot create Dense: outFeatures must be an integer >= 1, got 0",
  );
  throws(
    () =>
      modelFromSpec([{ type: "jumpout", options: { scope: "row" } }] as never),
    {
      name: "TypeError",
      message:
        'Cannot build a model from specs: specs[0] does not make a layer: scope must be "batch" or "sample", got "row"',
    },
  );
  throws(
    () => modelFromSpec([{ type: "dropout" }] as never),
    /^RangeError: Cannot build a model from specs: specs\[0\] does not make a layer: rate must be in \[0, 1\), got undefined$/,
  );
  // Every spec's fields are checked before any constructor runs.
  throws(
    () =>
      modelFromSpec([
        { type: "dense", inFeatures: 0, outFeatures: 1 },
        { type: "relu", extra: 1 },
      ] as never),
    /specs\[1\] has an unknown field "extra"/,
  );
});

Deno.test("layerFromSpec names the spec and passes constructor errors through", () => {
  throws(() => layerFromSpec({ type: "conv" } as never), {
    name: "TypeError",
    message:
      'Cannot build a layer from a spec: spec.type must be one of "dense", "conv2d", "batch_norm", "relu", "max_pool2d", "avg_pool2d", "global_avg_pool", "flatten", "jumpout", "dropout", "residual", got "conv"',
  });
  throws(
    () =>
      layerFromSpec({ type: "batch_norm", channels: 2, momentun: 1 } as never),
    /^TypeError: Cannot build a layer from a spec: spec has an unknown field "momentun"/,
  );
  throws(() => layerFromSpec({ type: "batch_norm", channels: 2.5 }), {
    name: "RangeError",
    message:
      "Cannot create BatchNorm: channels must be an integer >= 1, got 2.5",
  });
});

Deno.test("an empty spec list makes an empty model", () => {
  const model = modelFromSpec([]);
  deepEqual(model.layers, []);
});
