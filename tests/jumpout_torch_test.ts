/**
 * python/jumpout_torch's Jumpout and Dropout against the library's layers:
 * for several seeds, steps (one past 2^32), scopes, options and shapes, on
 * whole batches and on shards of one (each shard's own q+, and the whole
 * batch's), the outputs, input gradients and every unit's p, q+, p' and
 * scale are equal bit for bit; so are 20,000 of the rate generator's normal
 * draws. Needs `/usr/bin/python3` with torch (see `_helpers/torch.ts`):
 * ignored with a printed reason without it, a failure under CI=true.
 */
import { deepEqual } from "node:assert/strict";
import {
  createBackend,
  Dropout,
  Jumpout,
  type JumpoutOptions,
  type JumpoutStats,
} from "../mod.ts";
import { normal } from "../src/random.ts";
import { pattern } from "./_helpers/backends.ts";
import { PACKAGE_PATH, runPython, torchProblem } from "./_helpers/torch.ts";

/** One layer run: the options, the step, the batch and how it is split. */
interface Case {
  /** Jumpout's options, or `{ dropout: rate }` for Dropout. */
  options: JumpoutOptions & { dropout?: number };
  step: number;
  shape: number[];
  x: number[];
  dy: number[];
  /** `[rowOffset, rows]` of each shard; one shard of everything when absent. */
  shards?: [number, number][];
  /** Whether the shards take the whole batch's q+ (activeCount). */
  global?: boolean;
}

/** A shard's output, input gradient and stats (q+ null where it is NaN). */
interface Result {
  y: number[];
  dx: number[];
  stats: { p: number; qPlus: number | null; rate: number; scale: number }[];
}

const SCRIPT = `
import json, math, sys
spec = json.load(sys.stdin)
sys.path.insert(0, spec["package"])
import torch
from jumpout_torch import Dropout, Jumpout, Shard
from jumpout_torch import _random
NAMES = {"pMin": "p_min", "pMax": "p_max", "rescalePower": "rescale_power"}
out = {"normal": [_random.normal(*d) for d in spec["draws"]], "cases": []}
for c in spec["cases"]:
    o = c["options"]
    x = torch.tensor(c["x"], dtype=torch.float32).reshape(c["shape"])
    dy = torch.tensor(c["dy"], dtype=torch.float32).reshape(c["shape"])
    rows = c["shape"][0]
    shards = c.get("shards") or [[0, rows]]
    active = int((x > 0).sum()) if c.get("global") else None
    results = []
    for offset, n in shards:
        if "dropout" in o:
            layer = Dropout(o["dropout"], seed=o["seed"], scope=o.get("scope", "batch"))
        else:
            layer = Jumpout(**{NAMES.get(k, k): v for k, v in o.items()})
        layer.train()
        layer.step = c["step"]
        part = x[offset:offset + n].clone().requires_grad_()
        shard = Shard(offset, rows) if c.get("shards") else None
        y = layer(part, shard=shard, active_count=active)
        y.backward(dy[offset:offset + n])
        results.append({
            "y": y.detach().flatten().tolist(),
            "dx": part.grad.flatten().tolist(),
            "stats": [
                {"p": s["p"], "qPlus": None if math.isnan(s["q_plus"]) else s["q_plus"],
                 "rate": s["rate"], "scale": s["scale"]}
                for s in layer.last_stats
            ],
        })
    out["cases"].append(results)
json.dump(out, sys.stdout)
`;

const SEEDS = [1, 7, 123456789, 2 ** 32 - 1];
const STEPS = [0, 1, 5, 1000, 2 ** 32 + 3];
const SHAPES = [[4, 10], [3, 2, 5, 5], [1, 7], [6, 3, 4]];
const OPTIONS: JumpoutOptions[] = [
  {},
  { scope: "sample" },
  { sigma: 0.5, pMin: 0, pMax: 0.9 },
  { sigma: 0.3, scope: "sample", rescalePower: 1 },
  { monotone: false, rate: 0.3 },
  { normalize: false, sigma: 0.2 },
  { monotone: false, normalize: false, rate: 0.45, scope: "sample" },
];

/** Every option set on every shape, with seeds, steps and splits in turn. */
function cases(): Case[] {
  const all: Case[] = [];
  let i = 0;
  const add = (c: Omit<Case, "x" | "dy">) => {
    const n = c.shape.reduce((a, b) => a * b, 1);
    const x = [...pattern(n, 100 + i)];
    // A value whose product overflows: held at the largest float32.
    if (i % 5 === 0) x[n - 1] = 3.4e38;
    all.push({ ...c, x, dy: [...pattern(n, 200 + i)] });
    i++;
  };
  for (const options of OPTIONS) {
    for (const shape of SHAPES) {
      const seed = SEEDS[i % SEEDS.length];
      const step = STEPS[i % STEPS.length];
      add({ options: { ...options, seed }, step, shape });
    }
  }
  const sharded: [number[], [number, number][]][] = [
    [[4, 10], [[0, 2], [2, 2]]],
    [[6, 3, 4], [[0, 1], [1, 3], [4, 2]]],
    [[3, 2, 5, 5], [[0, 2], [2, 1]]],
  ];
  for (const options of OPTIONS) {
    for (const [shape, shards] of sharded) {
      const seed = SEEDS[i % SEEDS.length];
      const step = STEPS[i % STEPS.length];
      add({ options: { ...options, seed }, step, shape, shards });
      const global = (options.scope ?? "batch") === "batch" &&
        (options.normalize ?? true);
      if (global) {
        add({ options: { ...options, seed }, step, shape, shards, global });
      }
    }
  }
  for (const scope of ["batch", "sample"] as const) {
    add({ options: { dropout: 0.2, seed: 5, scope }, step: 3, shape: [4, 10] });
    add({
      options: { dropout: 0.4, seed: 9, scope },
      step: 8,
      shape: [6, 3, 4],
      shards: [[0, 4], [4, 2]],
    });
  }
  return all;
}

/** The library's layer on each shard of a case. */
async function ours(c: Case): Promise<Result[]> {
  const backend = await createBackend("reference");
  const x = Float32Array.from(c.x);
  const dy = Float32Array.from(c.dy);
  const rows = c.shape[0];
  const unit = x.length / rows;
  const shards = c.shards ?? [[0, rows]];
  const activeCount = c.global ? x.filter((v) => v > 0).length : undefined;
  const results: Result[] = [];
  for (const [offset, n] of shards) {
    const { dropout, ...options } = c.options;
    const layer = dropout === undefined ? new Jumpout(options) : new Dropout({
      rate: dropout,
      seed: options.seed,
      scope: options.scope,
    });
    layer.step = c.step;
    const shape = [n, ...c.shape.slice(1)];
    const part = (a: Float32Array) =>
      backend.tensor(a.slice(offset * unit, (offset + n) * unit), shape);
    const y = layer.forward(part(x), {
      training: true,
      ...(c.shards && { shard: { rowOffset: offset, batchRows: rows } }),
      activeCount,
    });
    const dx = layer.backward(part(dy));
    results.push({
      y: [...await backend.read(y)],
      dx: [...await backend.read(dx)],
      stats: layer.lastStats!.map((s: JumpoutStats) => ({
        ...s,
        qPlus: Number.isNaN(s.qPlus) ? null : s.qPlus,
      })),
    });
  }
  return results;
}

const problem = await torchProblem();

Deno.test({
  name:
    "jumpout_torch draws the library's masks, rates and scales bit for bit, whole batches and shards",
  ignore: problem !== undefined,
  fn: async () => {
    const all = cases();
    const draws: [number, number, number][] = Array.from(
      { length: 20000 },
      (_, i) => [(i * 2654435761) >>> 0, i % 977, i % 131],
    );
    const torch = await runPython(SCRIPT, {
      package: PACKAGE_PATH,
      cases: all,
      draws,
    }) as { normal: number[]; cases: Result[][] };
    deepEqual(torch.normal, draws.map(([s, t, u]) => normal(s, t, u)));
    for (const [i, c] of all.entries()) {
      const what = `case ${i}: ${JSON.stringify(c.options)}, step ${c.step}, ${
        JSON.stringify(c.shape)
      }${c.shards ? `, shards ${JSON.stringify(c.shards)}` : ""}${
        c.global ? ", global q+" : ""
      }`;
      deepEqual(torch.cases[i], await ours(c), what);
    }
  },
});
