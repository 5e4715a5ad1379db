/**
 * The edge example's handler: it describes the model, predicts as the
 * loaded model does, refuses malformed requests naming the field, and needs
 * no Worker.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { CLASS_NAMES, DataParallel, loadFashionMnist } from "../mod.ts";
import { loadModel } from "../src/io/load_model.ts";
import { logitsOf } from "./_helpers/loaded_model.ts";
import { gather } from "../cli/_fit.ts";
import server, {
  createHandler,
  type Handler,
  MAX_ROWS,
} from "../examples/edge_handler.ts";

const PIXELS = 784;
const STEPS = 4;
const ROWS = 32;

/** How training standardised its inputs, recorded in the checkpoint. */
const STANDARDIZE = { mean: 0.286, std: 0.353 };

/**
 * A small Fashion-MNIST network after a few steps, its checkpoint, and test
 * images: standardised (what the model sees) and raw (what clients send).
 */
const { bytes, images, raw } = await (async () => {
  const data = await loadFashionMnist({ source: "embedded" });
  const train = gather(
    data.train,
    Uint32Array.from({ length: STEPS * ROWS }, (_, i) => i),
  );
  const trainer = await DataParallel.create({
    model: [
      { type: "dense", inFeatures: PIXELS, outFeatures: 32 },
      { type: "relu" },
      { type: "jumpout" },
      { type: "dense", inFeatures: 32, outFeatures: 10 },
    ],
    inputShape: [PIXELS],
    optimizer: { type: "sgd", lr: 0.05, momentum: 0.9 },
    backend: "wasm",
    workers: 0,
    seed: 3,
    metadata: {
      "input.mean": String(STANDARDIZE.mean),
      "input.std": String(STANDARDIZE.std),
    },
  });
  try {
    for (let s = 0; s < STEPS; s++) {
      await trainer.trainStep(
        train.images.subarray(s * ROWS * PIXELS, (s + 1) * ROWS * PIXELS),
        train.labels.slice(s * ROWS, (s + 1) * ROWS),
      );
    }
    const test = gather(data.test, Uint32Array.from([0, 1, 2, 3, 4, 5]));
    return {
      bytes: await trainer.checkpoint(),
      images: test.images,
      raw: data.test.images.slice(0, 6 * PIXELS),
    };
  } finally {
    await trainer.dispose();
  }
})();

/** Row `r` of the raw test images as JSON numbers. */
const row = (r: number) =>
  Array.from(raw.subarray(r * PIXELS, (r + 1) * PIXELS));

/** A POST of `body` (JSON-encoded unless a string) to /predict. */
function predictRequest(body: unknown): Request {
  return new Request("http://edge.test/predict", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** The status and JSON body of a response. */
async function answer(
  handler: Handler,
  request: Request,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await handler(request);
  equal(
    response.headers.get("content-type"),
    "application/json; charset=utf-8",
  );
  return { status: response.status, body: await response.json() };
}

Deno.test("edge handler: predictions of raw pixels are the loaded model's on standardised ones, with softmax probabilities", async () => {
  const handler = createHandler(bytes);
  const { status, body } = await answer(
    handler,
    predictRequest({ images: [0, 1, 2, 3, 4, 5].map(row) }),
  );
  equal(status, 200, JSON.stringify(body));
  const loaded = await loadModel(bytes);
  try {
    const logits = await logitsOf(loaded, images);
    const predictions = body.predictions as {
      class: number;
      label: string;
      probabilities: number[];
    }[];
    equal(predictions.length, 6);
    predictions.forEach((p, r) => {
      const z = Array.from(logits.subarray(r * 10, (r + 1) * 10));
      const best = z.indexOf(Math.max(...z));
      equal(p.class, best);
      equal(p.label, CLASS_NAMES[best]);
      const sum = z.reduce((a, v) => a + Math.exp(v), 0);
      // Small logits: exp without the shift is exact enough; 1e-12 covers the rounding.
      p.probabilities.forEach((q, c) =>
        ok(Math.abs(q - Math.exp(z[c]) / sum) < 1e-12, `${r}, ${c}: ${q}`)
      );
    });
    // Trained a little: not every image gets the same class.
    ok(new Set(predictions.map((p) => p.class)).size > 1);
  } finally {
    loaded.dispose();
  }
});

Deno.test("edge handler: GET / describes the model", async () => {
  const { status, body } = await answer(
    createHandler(bytes),
    new Request("http://edge.test/"),
  );
  equal(status, 200);
  deepEqual(body, {
    inputShape: [PIXELS],
    inputSize: PIXELS,
    classes: 10,
    classNames: [...CLASS_NAMES],
    layers: 4,
    layerNames: ["Dense(784 → 32)", "ReLU", "Jumpout", "Dense(32 → 10)"],
    step: STEPS,
    standardize: STANDARDIZE,
    backend: "wasm",
    maxRows: MAX_ROWS,
  });
});

Deno.test("edge handler: a malformed request gets 400 or 413 naming the field and value", async () => {
  const handler = createHandler(bytes);
  const zeros: unknown[] = Array(PIXELS).fill(0);
  const cases: [Request, number, string][] = [
    [
      predictRequest("{images:"),
      400,
      "Cannot predict: the body must be JSON, got ",
    ],
    [
      predictRequest([zeros]),
      400,
      'Cannot predict: the body must be { "images": number[][] }, got an array of 1',
    ],
    [
      predictRequest({ image: [zeros] }),
      400,
      'Cannot predict: the body must be { "images": number[][] }, got images nothing',
    ],
    [
      predictRequest({ images: [] }),
      400,
      "Cannot predict: images must have at least 1 row, got 0",
    ],
    [
      predictRequest({ images: [zeros, zeros, zeros.slice(0, 10)] }),
      400,
      `Cannot predict: images[2] must have ${PIXELS} numbers, got 10`,
    ],
    [
      predictRequest({ images: [zeros, "pixels"] }),
      400,
      `Cannot predict: images[1] must be an array of ${PIXELS} numbers, got "pixels"`,
    ],
    [
      predictRequest({ images: [zeros, zeros.with(3, "a")] }),
      400,
      'Cannot predict: images[1][3] must be a finite float32 number, got "a"',
    ],
    [
      predictRequest({ images: [zeros.with(5, null)] }),
      400,
      "Cannot predict: images[0][5] must be a finite float32 number, got null",
    ],
    [
      predictRequest(`{"images":[[${zeros.with(7, "1e39").join(",")}]]}`),
      400,
      "Cannot predict: images[0][7] must be a finite float32 number, got 1e+39",
    ],
    [
      predictRequest({ images: Array(MAX_ROWS + 1).fill(zeros) }),
      413,
      `Cannot predict: images must have at most ${MAX_ROWS} rows, got ${
        MAX_ROWS + 1
      }`,
    ],
    [
      predictRequest(" ".repeat(MAX_ROWS * PIXELS * 32 + 5000)),
      413,
      "Cannot predict: the body must be at most ",
    ],
    [
      new Request("http://edge.test/predict"),
      405,
      "Cannot route: the method must be POST for /predict, got GET",
    ],
    [
      new Request("http://edge.test/", { method: "DELETE" }),
      405,
      "Cannot route: the method must be GET for /, got DELETE",
    ],
    [
      new Request("http://edge.test/model.json"),
      404,
      "Cannot route: the path must be / or /predict, got /model.json",
    ],
  ];
  for (const [request, status, message] of cases) {
    const { status: got, body } = await answer(handler, request);
    equal(got, status, message);
    ok(
      typeof body.error === "string" && body.error.startsWith(message),
      `${body.error} should start with ${message}`,
    );
  }
  // After all that, it still serves.
  equal((await handler(predictRequest({ images: [zeros] }))).status, 200);
});

Deno.test("edge handler: runs without Worker, on this thread", async () => {
  const saved = Object.getOwnPropertyDescriptor(globalThis, "Worker");
  // deno-lint-ignore no-explicit-any
  delete (globalThis as any).Worker;
  try {
    equal(typeof (globalThis as { Worker?: unknown }).Worker, "undefined");
    const handler = createHandler(bytes);
    const { status, body } = await answer(
      handler,
      predictRequest({ images: [row(0)] }),
    );
    equal(status, 200, JSON.stringify(body));
    equal((body.predictions as unknown[]).length, 1);
  } finally {
    Object.defineProperty(globalThis, "Worker", saved!);
  }
  equal(typeof Worker, "function");
});

Deno.test("edge handler: the default export reads JUMPOUT_WEIGHTS on a request, again after a failure", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/checkpoint.safetensors`;
  const saved = Deno.env.get("JUMPOUT_WEIGHTS");
  try {
    Deno.env.set("JUMPOUT_WEIGHTS", path);
    // No file yet: a 500 that names the variable and the path.
    const missing = await server.fetch(new Request("http://edge.test/"));
    equal(missing.status, 500);
    const { error } = await missing.json();
    ok(error.includes("JUMPOUT_WEIGHTS") && error.includes(path), error);
    await Deno.writeFile(path, bytes);
    // A file: URL works as well as a path.
    Deno.env.set("JUMPOUT_WEIGHTS", new URL(`file://${path}`).href);
    const described = await server.fetch(new Request("http://edge.test/"));
    equal(described.status, 200);
    equal((await described.json()).step, STEPS);
    const predicted = await server.fetch(predictRequest({ images: [row(1)] }));
    equal(predicted.status, 200);
    equal(((await predicted.json()).predictions as unknown[]).length, 1);
  } finally {
    if (saved === undefined) Deno.env.delete("JUMPOUT_WEIGHTS");
    else Deno.env.set("JUMPOUT_WEIGHTS", saved);
    await Deno.remove(dir, { recursive: true });
  }
});
