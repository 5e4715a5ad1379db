/**
 * `summary`: the table of a model or of its specs. Its totals are the sizes
 * of the built model's tensors, counted before anything is built; its
 * shapes are those a forward pass gives; the layers inside blocks are
 * indented under them; bad input is refused naming it.
 */
import { deepEqual, equal, match, ok, throws } from "node:assert/strict";
import {
  createBackend,
  Dense,
  type Layer,
  type LayerSpec,
  modelFromSpec,
  preactResNet,
  ReLU,
  Sequential,
  summary,
  walkLayers,
} from "../mod.ts";
import { networkSpecs } from "../cli/_models.ts";
import { fullJumpout } from "../cli/_resnet_experiment.ts";

const backend = await createBackend("reference");

/** A table's rows: path, layer (indented), output shape, count. */
function rows(table: string): string[][] {
  const lines = table.split("\n");
  const rules = lines.flatMap((l, i) => /^=+$/.test(l) ? [i] : []);
  equal(rules.length, 2, table);
  const layer = lines[0].indexOf("Layer");
  const shape = lines[0].indexOf("Output shape");
  return lines.slice(rules[0] + 1, rules[1]).map((l) => [
    l.slice(0, layer).trim(),
    l.slice(layer, shape).trimEnd(),
    ...l.slice(shape).split(/ {3,}/),
  ]);
}

/** The number after `label` in a table's totals. */
function total(table: string, label: string): number {
  const match = new RegExp(`^${label}: ([\\d,]+)`, "m").exec(table);
  ok(match, `${label} in\n${table}`);
  return Number(match[1].replaceAll(",", ""));
}

Deno.test("summary: ResNet-20's totals, from its specs, are the built model's tensor sizes", () => {
  const specs = preactResNet({ inChannels: 3 });
  const fromSpecs = summary(specs, [3, 32, 32]);
  const model = modelFromSpec(specs);
  model.build(backend, [3, 32, 32], { seed: 1 });
  const trainable = model.parameters().reduce((n, p) => n + p.value.size, 0);
  const stateSize = [...model.state().values()].reduce((n, t) => n + t.size, 0);
  equal(total(fromSpecs, "Trainable params"), trainable);
  equal(total(fromSpecs, "Non-trainable params"), stateSize - trainable);
  equal(total(fromSpecs, "Total params"), stateSize);
  ok(Math.abs(trainable / 0.27e6 - 1) <= 0.02, `${trainable}`);
  // The built model's table counts its tensors: the same table.
  equal(summary(model), fromSpecs);
  model.dispose();
});

Deno.test("summary: blocks' layers are indented under them, by path, counted once", () => {
  const table = summary(preactResNet({ depth: 8 }), [1, 28, 28]);
  const lines = rows(table);
  deepEqual(lines[0], ["", "Input", "[N, 1, 28, 28]"]);
  const block = lines.findIndex((l) => l[0] === "4");
  deepEqual(lines[block].slice(0, 2), ["4", "Residual(4 layers, shortcut 1)"]);
  deepEqual(
    lines.slice(block + 1, block + 6).map((l) => l.slice(0, 2)),
    [
      ["4.body.0", "  Conv2d(16 → 32, 3×3, stride 2, padding 1)"],
      ["4.body.1", "  BatchNorm(32)"],
      ["4.body.2", "  ReLU"],
      ["4.body.3", "  Conv2d(32 → 32, 3×3, padding 1)"],
      ["4.shortcut.0", "  Conv2d(16 → 32, 1×1, stride 2)"],
    ],
  );
  const count = (l: string[]) => Number(l[3].replaceAll(",", ""));
  const inside = lines.slice(block + 1, block + 6).map(count);
  equal(count(lines[block]), inside.reduce((a, b) => a + b));
  const topLevel = lines.filter((l) => /^\d+$/.test(l[0])).map(count);
  equal(total(table, "Total params"), topLevel.reduce((a, b) => a + b));
  match(
    table,
    /^Non-trainable params: [\d,]+ \(running statistics and other state that no gradient updates\)$/m,
  );
});

Deno.test("summary: every layer's shape is the one a forward pass on the reference backend gives", () => {
  const reg = fullJumpout(0.1);
  const cases: [string, LayerSpec[], number[]][] = [
    ["resnet", preactResNet({ depth: 8, inChannels: 3 }), [3, 16, 12]],
    ["cnn", networkSpecs("cnn", reg), [1, 28, 28]],
    ["mlp", networkSpecs("mlp", reg), [784]],
  ];
  for (const [name, specs, sample] of cases) {
    const model = modelFromSpec(specs);
    model.build(backend, sample, { seed: 1 });
    const seen = new Map<string, string>();
    for (const [path, layer] of walkLayers(model.layers)) {
      record(path, layer, seen);
    }
    const x = backend.tensor(
      new Float32Array(2 * sample.reduce((a, b) => a * b)).fill(0.5),
      [2, ...sample],
    );
    model.forward(x, { training: true });
    const table = rows(summary(model));
    deepEqual(
      table.slice(1).map((l) => [l[0], l[2]]),
      [...seen],
      name,
    );
    model.dispose();
  }
});

/** Wraps `layer.forward` to note each output's shape, batch written `N`. */
function record(path: string, layer: Layer, seen: Map<string, string>): void {
  const forward = layer.forward.bind(layer);
  seen.set(path, "");
  layer.forward = (x, options) => {
    const y = forward(x, options);
    seen.set(path, `[${["N", ...y.shape.slice(1)].join(", ")}]`);
    return y;
  };
}

Deno.test("summary: a built model of layers of one's own is counted from its tensors", () => {
  const inner = new Dense(3, 2);
  const custom: Layer = {
    get name() {
      return "Custom";
    },
    outputShape: (s) => inner.outputShape(s),
    build: (b, s, seed, prefix) => inner.build(b, s, seed, prefix),
    forward: (x, o) => inner.forward(x, o),
    backward: (dy) => inner.backward(dy),
    parameters: () => inner.parameters(),
    state: () => inner.state(),
    dispose: () => inner.dispose(),
  };
  const model = new Sequential([custom, new ReLU()]);
  // Unbuilt, a layer without parameterCount() holds nothing, as far as it says.
  equal(total(summary(model, [3]), "Total params"), 0);
  model.build(backend, [3], { seed: 1 });
  const table = summary(model);
  equal(total(table, "Trainable params"), 8);
  deepEqual(rows(table)[1], ["0", "Custom", "[N, 2]", "8"]);
  // Another sample shape may be asked for.
  throws(
    () => summary(model, [4]),
    /^RangeError: Cannot summarise a model: inputShape \[4\] \(one sample, no batch\) does not fit: layer 0 \(Custom\) needs inputs \[N, 3\], got \[N, 4\]$/,
  );
  model.dispose();
});

Deno.test("summary: bad input is refused, naming it", () => {
  const specs: LayerSpec[] = [{ type: "dense", inFeatures: 4, outFeatures: 2 }];
  throws(
    () => summary(new Sequential([new Dense(4, 2)])),
    /^TypeError: Cannot summarise a model: inputShape must be given for a model that is not built \(one sample's shape, without the batch\), got undefined$/,
  );
  throws(
    () => summary("resnet" as never, [4]),
    /^TypeError: Cannot summarise a model: model must be a Sequential or an array of layer specs, got string$/,
  );
  throws(
    () => summary(specs, "4" as never),
    /^TypeError: Cannot summarise a model: inputShape must be an array of integers \(one sample's shape, without the batch\), got string$/,
  );
  throws(
    () => summary(specs, [1.5]),
    /^RangeError: Cannot summarise a model: inputShape must hold non-negative integers \(one sample's shape, without the batch\), got \[1\.5\]$/,
  );
  throws(
    () => summary(specs, [1, 4]),
    /inputShape \[1, 4\] \(one sample, no batch\) does not fit: layer 0 \(Dense\(4 → 2\)\) needs inputs \[N, 4\], got \[N, 1, 4\]/,
  );
  throws(
    () => summary([{ type: "dens" } as never], [4]),
    /specs\[0\]\.type must be one of/,
  );
});
