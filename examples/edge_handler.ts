/**
 * Inference at the edge: an HTTP handler that serves a trained model's
 * predictions, on the calling thread with the `wasm` backend (no Worker, no
 * GPU), as edge runtimes such as Deno Deploy run it.
 *
 * ```sh
 * deno task train                        # writes out/train/checkpoint.safetensors
 * deno serve -A examples/edge_handler.ts # serves it on http://localhost:8000
 * curl -s localhost:8000/                # the model: input shape, classes, step
 * curl -s localhost:8000/predict -H 'content-type: application/json' \
 *   -d "$(deno eval 'console.log(JSON.stringify({ images: [Array(784).fill(0)] }))')"
 * ```
 *
 * The weights come from `JUMPOUT_WEIGHTS` (a path, or an http(s) or file
 * URL), by default `out/train/checkpoint.safetensors`, read once on the
 * first request. Routes:
 *
 * - `GET /`: the model as JSON: input shape, classes (with Fashion-MNIST's
 *   class names for a 784-input, 10-class model), layers, training step.
 * - `POST /predict` with `{ "images": number[][] }`: each row one sample,
 *   raw (for Fashion-MNIST, pixels in [0, 1]), at most {@linkcode MAX_ROWS}
 *   rows. When the checkpoint's metadata holds `input.mean` and `input.std`
 *   (`deno task train` records how it standardised its inputs), each value
 *   becomes (v − mean) / std before the model sees it, as in training.
 *   Answers `{ predictions: [{ class, label, probabilities }] }`, the
 *   probabilities the softmax of the logits.
 *
 * A malformed request gets 400 (413 for too many rows or bytes) and
 * `{ error }` naming the field and the value.
 *
 * @module
 */

import { CLASS_NAMES, type LoadedModel, loadModel } from "../mod.ts";

/** The most rows one request may ask for. */
export const MAX_ROWS = 256;

/** Where the weights are when `JUMPOUT_WEIGHTS` is not set. */
export const DEFAULT_WEIGHTS = "out/train/checkpoint.safetensors";

/** Bytes a JSON number may take on average, for the cap on request bodies. */
const BYTES_PER_VALUE = 32;

/** A request handler, as `Deno.serve` takes it. */
export type Handler = (request: Request) => Promise<Response>;

/** An error that answers the request with its status and message. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * Makes a handler that serves the model of a checkpoint; the model is
 * built on the first request and kept.
 *
 * @param weights A checkpoint written by `DataParallel` (`deno task train`
 *   writes one).
 * @returns The handler: `GET /` describes the model, `POST /predict` runs it.
 *
 * @example Describe a freshly trained model, then ask for a prediction
 * ```ts
 * import { DataParallel } from "../mod.ts";
 * import { createHandler } from "./edge_handler.ts";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const trainer = await DataParallel.create({
 *   model: [{ type: "dense", inFeatures: 3, outFeatures: 2 }],
 *   inputShape: [3], optimizer: { type: "sgd", lr: 0.1 }, backend: "wasm", workers: 0, seed: 1,
 * });
 * const handler = createHandler(await trainer.checkpoint());
 * await trainer.dispose();
 * const about = await (await handler(new Request("http://localhost/"))).json();
 * deepEqual([about.inputShape, about.classes, about.step], [[3], 2, 0]);
 * const response = await handler(new Request("http://localhost/predict", {
 *   method: "POST",
 *   body: JSON.stringify({ images: [[1, 0, 0], [0, 0, 1]] }),
 * }));
 * const { predictions } = await response.json();
 * equal(predictions.length, 2);
 * ```
 */
export function createHandler(weights: Uint8Array): Handler {
  if (!(weights instanceof Uint8Array)) {
    throw new TypeError(
      `Cannot create a handler: weights must be a Uint8Array, got ${
        weights === null ? "null" : typeof weights
      }`,
    );
  }
  let loading: Promise<LoadedModel> | undefined;
  // Built once; a failed build is tried again on the next request.
  const loaded = () =>
    loading ??= loadModel(weights, { backend: "wasm" }).catch((error) => {
      loading = undefined;
      throw new HttpError(500, (error as Error).message);
    });
  return async (request) => {
    try {
      const { pathname } = new URL(request.url);
      if (pathname === "/") {
        allow(request, "GET");
        return json(200, describe(await loaded()));
      }
      if (pathname === "/predict") {
        allow(request, "POST");
        const served = await loaded();
        return json(
          200,
          await predict(served, await readJson(request, served)),
        );
      }
      throw new HttpError(
        404,
        `Cannot route: the path must be / or /predict, got ${pathname}`,
      );
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      return json(error.status, { error: error.message }, error.headers);
    }
  };
}

/** The model as `GET /` describes it. */
function describe(served: LoadedModel): Record<string, unknown> {
  const { model, inputShape, classes, header } = served;
  return {
    inputShape,
    inputSize: sampleSize(served),
    classes,
    classNames: classNames(served) ?? null,
    layers: model.layers.length,
    layerNames: model.layers.map((l) => l.name),
    step: header.step,
    standardize: standardization(served) ?? null,
    backend: served.backend.name,
    maxRows: MAX_ROWS,
  };
}

/**
 * How training standardised its inputs, from the checkpoint's metadata
 * (`input.mean`, `input.std`), or none when it does not say.
 */
function standardization(
  served: LoadedModel,
): { mean: number; std: number } | undefined {
  const { metadata } = served.header;
  const mean = Number(metadata["input.mean"]);
  const std = Number(metadata["input.std"]);
  const given = metadata["input.mean"] !== undefined &&
    metadata["input.std"] !== undefined;
  return given && Number.isFinite(mean) && Number.isFinite(std) && std > 0
    ? { mean, std }
    : undefined;
}

/** Fashion-MNIST's class names for a model of its shape, else none. */
function classNames(served: LoadedModel): readonly string[] | undefined {
  const fits = served.classes === CLASS_NAMES.length &&
    sampleSize(served) === 28 * 28;
  return fits ? CLASS_NAMES : undefined;
}

/** Values in one sample. */
function sampleSize(served: LoadedModel): number {
  return served.inputShape.reduce((a, b) => a * b, 1);
}

/** Runs the model on the body's images; answers each row's class and probabilities. */
async function predict(
  served: LoadedModel,
  body: unknown,
): Promise<{ predictions: unknown[] }> {
  const x = readImages(body, sampleSize(served));
  const rows = x.length / sampleSize(served);
  const standard = standardization(served);
  if (standard !== undefined) {
    for (let i = 0; i < x.length; i++) {
      x[i] = (x[i] - standard.mean) / standard.std;
    }
  }
  const { model, backend, classes } = served;
  const input = backend.tensor(x, [rows, ...served.inputShape]);
  let logits: Float32Array;
  try {
    const y = model.forward(input, { training: false });
    try {
      logits = await backend.read(y);
    } finally {
      backend.release(y);
    }
  } finally {
    backend.release(input);
  }
  const names = classNames(served);
  return {
    predictions: Array.from({ length: rows }, (_, r) => {
      const probabilities = softmax(
        logits.subarray(r * classes, (r + 1) * classes),
      );
      const best = probabilities.indexOf(Math.max(...probabilities));
      return {
        class: best,
        label: names?.[best] ?? String(best),
        probabilities,
      };
    }),
  };
}

/**
 * The body's `images` as one array of rows, each checked: an array of
 * `size` numbers that float32 holds finitely.
 */
function readImages(body: unknown, size: number): Float32Array {
  const fail = (status: number, detail: string): never => {
    throw new HttpError(status, `Cannot predict: ${detail}`);
  };
  const images = (body as { images?: unknown } | null)?.images;
  if (
    body === null || typeof body !== "object" || Array.isArray(body) ||
    !Array.isArray(images)
  ) {
    fail(
      400,
      `the body must be { "images": number[][] }, got ${
        body !== null && typeof body === "object" && !Array.isArray(body)
          ? `images ${show(images)}`
          : show(body)
      }`,
    );
  }
  const rows = images as unknown[];
  if (rows.length === 0) fail(400, "images must have at least 1 row, got 0");
  if (rows.length > MAX_ROWS) {
    fail(413, `images must have at most ${MAX_ROWS} rows, got ${rows.length}`);
  }
  const x = new Float32Array(rows.length * size);
  rows.forEach((row, r) => {
    if (!Array.isArray(row)) {
      fail(
        400,
        `images[${r}] must be an array of ${size} numbers, got ${show(row)}`,
      );
    }
    const values = row as unknown[];
    if (values.length !== size) {
      fail(400, `images[${r}] must have ${size} numbers, got ${values.length}`);
    }
    values.forEach((v, c) => {
      if (typeof v !== "number" || !Number.isFinite(Math.fround(v))) {
        fail(
          400,
          `images[${r}][${c}] must be a finite float32 number, got ${show(v)}`,
        );
      }
      x[r * size + c] = v as number;
    });
  });
  return x;
}

/** Softmax of one row of logits, in float64 with the largest logit taken off first. */
function softmax(logits: Float32Array): number[] {
  const top = Math.max(...logits);
  const e = Array.from(logits, (v) => Math.exp(v - top));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/** Throws 405 unless the request's method is `method`. */
function allow(request: Request, method: string): void {
  if (request.method !== method) {
    throw new HttpError(
      405,
      `Cannot route: the method must be ${method} for ${
        new URL(request.url).pathname
      }, got ${request.method}`,
      { allow: method },
    );
  }
}

/**
 * The request's body as JSON, refused (413) past what {@linkcode MAX_ROWS}
 * rows can take, before it is all read.
 */
async function readJson(
  request: Request,
  served: LoadedModel,
): Promise<unknown> {
  const limit = MAX_ROWS * sampleSize(served) * BYTES_PER_VALUE + 4096;
  const tooBig = (got: string): never => {
    throw new HttpError(
      413,
      `Cannot predict: the body must be at most ${limit} bytes, got ${got}`,
    );
  };
  const declared = Number(request.headers.get("content-length") ?? 0);
  if (declared > limit) tooBig(String(declared));
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (request.body !== null) {
    for await (const chunk of request.body) {
      total += chunk.length;
      if (total > limit) tooBig("more");
      chunks.push(chunk);
    }
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (error) {
    throw new HttpError(
      400,
      `Cannot predict: the body must be JSON, got ${(error as Error).message}`,
    );
  }
}

/** A JSON response. */
function json(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
}

/** A value, briefly, for messages. */
function show(value: unknown): string {
  if (value === undefined) return "nothing";
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (value === null || typeof value !== "object") {
    const text = JSON.stringify(value);
    return text.length > 40 ? `${text.slice(0, 40)}…` : text;
  }
  return "an object";
}

/** Where the weights are: `JUMPOUT_WEIGHTS`, else {@linkcode DEFAULT_WEIGHTS}. */
function weightsLocation(): string {
  try {
    return Deno.env.get("JUMPOUT_WEIGHTS") || DEFAULT_WEIGHTS;
  } catch {
    // No permission to read the environment: the default it is.
    return DEFAULT_WEIGHTS;
  }
}

/** A checkpoint's bytes from a path or an http(s) or file URL. */
async function readWeights(location: string): Promise<Uint8Array> {
  try {
    if (/^https?:\/\//i.test(location)) {
      const response = await fetch(location);
      if (!response.ok) {
        await response.body?.cancel();
        throw new Error(`HTTP ${response.status}`);
      }
      return new Uint8Array(await response.arrayBuffer());
    }
    return await Deno.readFile(
      /^file:/i.test(location) ? new URL(location) : location,
    );
  } catch (error) {
    throw new HttpError(
      500,
      `Cannot load the model: JUMPOUT_WEIGHTS must name a readable checkpoint (deno task train writes ${DEFAULT_WEIGHTS}), got ${location}: ${
        (error as Error).message
      }`,
    );
  }
}

let handler: Promise<Handler> | undefined;

/**
 * The server: `deno serve -A examples/edge_handler.ts` runs it. The weights
 * are read on the first request (again after a failure, so a checkpoint
 * written later is picked up).
 */
export default {
  async fetch(request: Request): Promise<Response> {
    let serve: Handler;
    try {
      handler ??= readWeights(weightsLocation()).then(createHandler);
      serve = await handler;
    } catch (error) {
      handler = undefined;
      if (!(error instanceof HttpError)) throw error;
      return json(error.status, { error: error.message });
    }
    return await serve(request);
  },
} satisfies Deno.ServeDefaultExport;
