/** Bad input: a RangeError or TypeError that names the parameter and the value. */
import { deepEqual, equal, throws } from "node:assert/strict";
import {
  createBackend,
  Dense,
  Dropout,
  Jumpout,
  type JumpoutOptions,
  ReLU,
  Sequential,
} from "../mod.ts";

const backend = await createBackend("reference");
const other = await createBackend("reference");

function badOption(
  options: JumpoutOptions,
  type: typeof Error,
  pattern: RegExp,
) {
  throws(
    () => new Jumpout(options),
    (e: Error) => e instanceof type && pattern.test(e.message),
  );
}

Deno.test("sigma below 0 or not finite", () => {
  badOption(
    { sigma: -0.1 },
    RangeError,
    /^Cannot create Jumpout: sigma must be .*, got -0\.1$/,
  );
  badOption({ sigma: NaN }, RangeError, /sigma .*got NaN/);
  badOption({ sigma: Infinity }, RangeError, /sigma .*got Infinity/);
});

Deno.test("pMin outside [0, 1)", () => {
  badOption(
    { pMin: -0.01 },
    RangeError,
    /pMin must be in \[0, 1\), got -0\.01/,
  );
  badOption({ pMin: 1 }, RangeError, /pMin must be in \[0, 1\), got 1/);
});

Deno.test("pMax outside [0, 1)", () => {
  badOption({ pMax: 1.5 }, RangeError, /pMax must be in \[0, 1\), got 1\.5/);
});

Deno.test("pMin above pMax", () => {
  badOption(
    { pMin: 0.5, pMax: 0.2 },
    RangeError,
    /pMin must not exceed pMax, got pMin 0\.5 > pMax 0\.2/,
  );
});

Deno.test("rate outside [0, 1)", () => {
  throws(
    () => new Dropout({ rate: 1 }),
    /^RangeError: Cannot create Dropout: rate must be in \[0, 1\), got 1$/,
  );
  throws(
    () => new Dropout({ rate: -0.2 }),
    /rate must be in \[0, 1\), got -0\.2/,
  );
  throws(
    () => new Dropout({} as { rate: number }),
    /rate must be in \[0, 1\), got undefined/,
  );
  badOption(
    { monotone: false, rate: 2 },
    RangeError,
    /rate must be in \[0, 1\), got 2/,
  );
  badOption(
    { rate: 0.3 },
    TypeError,
    /rate needs monotone: false, got rate 0\.3/,
  );
});

Deno.test("rescalePower below 0", () => {
  badOption(
    { rescalePower: -1 },
    RangeError,
    /rescalePower must be .*, got -1/,
  );
});

Deno.test("rescalePower so large that the factor would overflow float32", () => {
  badOption(
    { rescalePower: 200, pMax: 0.9 },
    RangeError,
    /rescalePower must keep .* finite in float32 for p' up to 0\.9, got 200/,
  );
  new Jumpout({ rescalePower: 5, pMax: 0.9 }); // 10^5: fine
});

Deno.test("scope not one of the two", () => {
  badOption(
    { scope: "row" as "batch" },
    TypeError,
    /scope must be "batch" or "sample", got "row"/,
  );
});

Deno.test("seed not a 32-bit unsigned integer", () => {
  badOption(
    { seed: 1.5 },
    RangeError,
    /seed must be an integer in \[0, 2\^32\), got 1\.5/,
  );
  badOption({ seed: -1 }, RangeError, /seed .*got -1/);
});

Deno.test("data that is not a Float32Array", () => {
  throws(
    () => backend.tensor([1, 2, 3] as unknown as Float32Array, [3]),
    (e: Error) =>
      e instanceof TypeError &&
      /data must be a Float32Array, got Array/.test(e.message),
  );
  throws(
    () => backend.tensor(new Float64Array(3) as unknown as Float32Array, [3]),
    /got Float64Array/,
  );
});

Deno.test("data whose length does not match the shape", () => {
  throws(
    () => backend.tensor(new Float32Array(5), [2, 3]),
    (e: Error) =>
      e instanceof RangeError &&
      /data length must match shape \[2, 3\] \(6 elements\), got 5/.test(
        e.message,
      ),
  );
  throws(
    () => backend.tensor(new Float32Array(0), [-1]),
    /shape must hold non-negative integers, got \[-1\]/,
  );
});

Deno.test("backward before a training forward", () => {
  const layer = new Jumpout({ seed: 1 });
  const dy = backend.tensor(new Float32Array(4), [4]);
  throws(
    () => layer.backward(dy),
    (e: Error) =>
      e instanceof TypeError &&
      /Jumpout backward: dy needs a training forward first/.test(e.message),
  );
  layer.forward(dy); // inference does not count
  throws(() => layer.backward(dy), /needs a training forward/);
});

Deno.test("dy of another shape", () => {
  const layer = new Jumpout({ seed: 1 });
  layer.forward(backend.tensor(new Float32Array(6), [2, 3]), {
    training: true,
  });
  throws(
    () => layer.backward(backend.tensor(new Float32Array(6), [3, 2])),
    (e: Error) =>
      e instanceof RangeError &&
      e.message ===
        "Cannot run Jumpout backward: dy must have the forward's output shape [2, 3], got [3, 2]",
  );
});

Deno.test("dy of another backend", () => {
  const layer = new Jumpout({ seed: 1 });
  layer.forward(backend.tensor(new Float32Array(6), [6]), { training: true });
  throws(
    () => layer.backward(other.tensor(new Float32Array(6), [6])),
    (e: Error) =>
      e instanceof TypeError &&
      /dy must be on the reference backend of the forward/.test(e.message),
  );
});

Deno.test("dy of another backend than the built one", () => {
  const layer = new Jumpout({ seed: 1 });
  layer.build(backend, [2, 3], 0, "");
  layer.forward(backend.tensor(new Float32Array(6), [2, 3]), {
    training: true,
  });
  throws(
    () => layer.backward(other.tensor(new Float32Array(6), [2, 3])),
    (e: Error) =>
      e instanceof TypeError &&
      e.message ===
        "Cannot run Jumpout backward: dy must be on the reference backend the layer was built for, got a tensor of the reference backend",
  );
});

Deno.test("the same bad argument gets the same message from Jumpout, other layers and Sequential", () => {
  const x = backend.tensor(new Float32Array(6), [2, 3]);
  backend.release(x);
  const built = (layer: Jumpout | Dense | ReLU) => {
    layer.build(backend, [2, 3], 0, "");
    return layer;
  };
  const model = new Sequential([new Dense(3, 3)]);
  model.build(backend, [3], { seed: 1 });
  const cases: [string, () => unknown][] = [
    ["Jumpout", () => new Jumpout({ seed: 1 }).forward(x)],
    ["Jumpout", () => built(new Jumpout({ seed: 1 })).forward(x)],
    ["Dropout", () => new Dropout({ rate: 0.5 }).forward(x)],
    ["ReLU", () => built(new ReLU()).forward(x)],
    ["Dense(3 → 3)", () => built(new Dense(3, 3)).forward(x)],
    ["Sequential", () => model.forward(x)],
  ];
  for (const [name, run] of cases) {
    throws(
      run,
      (e: Error) =>
        e instanceof TypeError &&
        e.message ===
          `Cannot run ${name} forward: x was released, got a released tensor of shape [2, 3]`,
      name,
    );
  }
  // Build arguments: Jumpout checks them as every layer does.
  for (const layer of [new Jumpout(), new ReLU()]) {
    throws(
      () => layer.build(backend, [2, 3], 0, 7 as unknown as string),
      (e: Error) =>
        e instanceof TypeError &&
        e.message ===
          `Cannot build ${layer.name}: prefix must be a string, got number`,
    );
    throws(
      () => layer.build(backend, [2, 1.5], 0, ""),
      (e: Error) =>
        e instanceof RangeError &&
        e.message ===
          `Cannot build ${layer.name}: batchShape must hold non-negative integers, batch first, got [2, 1.5]`,
    );
  }
});

Deno.test("a tensor used after release", async () => {
  const x = backend.tensor(new Float32Array([1, 2]), [2]);
  backend.release(x);
  const layer = new Jumpout({ seed: 1 });
  throws(
    () => layer.forward(x, { training: true }),
    (e: Error) => e instanceof TypeError && /x was released/.test(e.message),
  );
  equal(layer.step, 0); // nothing half-done
  await backend.read(x).then(
    () => Promise.reject(new Error("read succeeded")),
    (e: Error) => {
      if (!/tensor was released/.test(e.message)) throw e;
    },
  );
  throws(() => backend.release(x), /tensor was released/);
});

Deno.test("createBackend with an unknown name", async () => {
  const { createBackend } = await import("../mod.ts");
  await createBackend("cuda" as "wasm").then(
    () => Promise.reject(new Error("accepted")),
    (e: Error) => {
      if (
        !(e instanceof TypeError) ||
        !/choice must be .*, got cuda/.test(e.message)
      ) throw e;
    },
  );
});

Deno.test("kernel arguments of the wrong type or range", () => {
  const x = backend.tensor(new Float32Array(4), [4]);
  const counts = backend.allocate([1], "uint32");
  const scale = backend.allocate([1]);
  throws(
    () =>
      backend.run("count_active", {
        x,
        counts: scale as never,
        rows: 1,
        cols: 4,
      }),
    (e: Error) =>
      e instanceof TypeError &&
      /count_active: counts must be a uint32 tensor, got float32/.test(
        e.message,
      ),
  );
  throws(
    () => backend.run("count_active", { x, counts, rows: 2, cols: 2 }),
    /counts must have 2 elements, got 1/,
  );
  throws(
    () =>
      backend.run("mask_scale", {
        x,
        keep: counts,
        scale,
        y: x,
        rows: 1,
        cols: 4,
        key: -1,
        offset: 0,
      }),
    (e: Error) =>
      e instanceof RangeError &&
      /mask_scale: key must be an integer in \[0, 2\^32\), got -1/.test(
        e.message,
      ),
  );
  for (const offset of [-1, 2 ** 32, 1.5, NaN]) {
    throws(
      () =>
        backend.run("mask_scale", {
          x,
          keep: counts,
          scale,
          y: x,
          rows: 1,
          cols: 4,
          key: 0,
          offset,
        }),
      {
        name: "RangeError",
        message:
          `Cannot run mask_scale: offset must be an integer in [0, 2^32), got ${offset}`,
      },
    );
  }
  throws(
    () =>
      backend.run("jumpout_params", {
        counts,
        rate: counts,
        keep: counts,
        scale,
        rows: 1,
        cols: 4,
        maxDrop: 0.5,
        normalize: true,
        power: 0.75,
      }),
    /maxDrop must be an integer in \[0, 2\^32\), got 0\.5/,
  );
});

Deno.test("kernel outputs that share storage they may not are a TypeError naming both", async () => {
  const b = await createBackend("reference");
  const x = b.tensor(new Float32Array([1, 2, 3, 4]), [4]);
  const view = b.reshape(x, [2, 2]);
  const conv = {
    batch: 1,
    channels: 1,
    height: 2,
    width: 2,
    kernelH: 1,
    kernelW: 1,
    stride: 1,
    padding: 0,
  };
  throws(
    () => b.run("col2im", { cols: x, x, ...conv }),
    {
      name: "TypeError",
      message:
        "Cannot run col2im: x must not share storage with cols, got the same tensor",
    },
  );
  throws(
    () => b.run("im2col", { x, cols: view, ...conv }),
    {
      name: "TypeError",
      message:
        "Cannot run im2col: cols must not share storage with x, got views of the same storage",
    },
  );
  // Sizes and types are checked first; sharing only among valid arguments.
  throws(
    () => b.run("col2im", { cols: x, x, ...conv, padding: 1 }),
    { name: "RangeError" },
  );
  // Two outputs of one kernel may not share either.
  const c = b.allocate([4]);
  throws(
    () =>
      b.run("channel_stats", {
        x,
        mean: c,
        variance: c,
        outer: 1,
        channels: 4,
        inner: 1,
      }),
    /^TypeError: Cannot run channel_stats: mean must not share storage with variance, got the same tensor$/,
  );
  // A view passed where the contract allows the tensor itself is allowed.
  b.run("relu", { x, y: view, n: 4 });
  deepEqual([...(await b.read(x))], [1, 2, 3, 4]);
  // Empty tensors hold nothing to read or write: they may share.
  const empty = b.allocate([0]);
  b.run("matmul", {
    a: empty,
    b: empty,
    c: empty,
    m: 0,
    n: 0,
    k: 5,
    transA: false,
    transB: false,
    accumulate: false,
  });
});
