/**
 * exportTorch and importTorch against PyTorch: the MLP, the CNN with
 * BatchNorm and ResNet-20, exported, built by the generated module and
 * loaded with load_state_dict(strict=True), give our evaluation logits
 * within 1e-5 (relative to the largest logit); the state dict PyTorch saves
 * after changing every value imports back bit for bit, and our logits then
 * equal PyTorch's again. Needs `/usr/bin/python3` with torch (see
 * `_helpers/torch.ts`): ignored with a printed reason without it, a failure
 * under CI=true.
 */
import { deepEqual, ok } from "node:assert/strict";
import {
  createBackend,
  decodeSafetensors,
  exportTorch,
  importTorch,
  type LayerSpec,
  modelFromSpec,
  preactResNet,
} from "../mod.ts";
import { networkSpecs } from "../cli/_models.ts";
import { fullJumpout } from "../cli/_resnet_experiment.ts";
import { pattern } from "./_helpers/backends.ts";
import {
  PACKAGE_PATH,
  relativeDifference,
  runPython,
  torchProblem,
} from "./_helpers/torch.ts";

/** Builds the exported module, loads the weights, runs both evaluations. */
const SCRIPT = `
import importlib, json, sys
spec = json.load(sys.stdin)
sys.path[:0] = [spec["package"], spec["dir"]]
import torch, jumpout_torch
model = importlib.import_module("exported").build_model()
jumpout_torch.load_state_dict_file(model, spec["dir"] + "/weights.safetensors")
model.eval()
x = torch.tensor(spec["x"], dtype=torch.float32).reshape(spec["shape"])
with torch.no_grad():
    logits = model(x).flatten().tolist()
    for name, t in model.state_dict().items():
        if t.is_floating_point():
            t.mul_(1.25).add_(0.01 * (1 + len(name) % 3))
    changed = model(x).flatten().tolist()
jumpout_torch.save_state_dict_file(model, spec["dir"] + "/changed.safetensors")
json.dump({"logits": logits, "changed": changed}, sys.stdout)
`;

const JUMPOUT = fullJumpout(0.1);

const MODELS: [string, LayerSpec[], number[]][] = [
  ["the MLP", networkSpecs("mlp", JUMPOUT), [784]],
  ["the CNN with BatchNorm", networkSpecs("cnn", JUMPOUT), [1, 28, 28]],
  ["ResNet-20", preactResNet({ regularizer: "jumpout" }), [1, 28, 28]],
];

const problem = await torchProblem();

for (const [name, specs, sample] of MODELS) {
  Deno.test({
    name:
      `${name} exported to PyTorch gives our logits; its state dict imports back`,
    ignore: problem !== undefined,
    fn: async () => {
      const backend = await createBackend("wasm");
      const model = modelFromSpec(specs);
      const dir = await Deno.makeTempDir();
      try {
        const batch = 6;
        const shape = [batch, ...sample];
        model.build(backend, sample, { seed: 11 });
        // Training forwards move BatchNorm's running statistics off 0 and 1.
        for (const seed of [1, 2]) {
          const x = backend.tensor(pattern(size(shape), seed), shape);
          model.forward(x, { training: true });
          backend.release(x);
        }
        const x = pattern(size(shape), 3);
        const logits = async () => {
          const input = backend.tensor(x, shape);
          const y = model.forward(input, { training: false });
          const values = await backend.read(y);
          backend.release(input);
          backend.release(y);
          return values;
        };
        const ours = await logits();
        const { weights, python } = await exportTorch(model);
        await Deno.writeFile(`${dir}/weights.safetensors`, weights);
        await Deno.writeTextFile(`${dir}/exported.py`, python);
        const torch = await runPython(SCRIPT, {
          package: PACKAGE_PATH,
          dir,
          x: [...x],
          shape,
        }) as { logits: number[]; changed: number[] };
        const before = relativeDifference(ours, torch.logits);
        ok(before <= 1e-5, `${name}: logits differ by ${before} (relative)`);

        const changed = await Deno.readFile(`${dir}/changed.safetensors`);
        importTorch(changed, model);
        const back = decodeSafetensors((await exportTorch(model)).weights);
        const saved = decodeSafetensors(changed);
        deepEqual(
          [...back.tensors.keys()].sort(),
          [...saved.tensors.keys()].sort(),
        );
        for (const [key, t] of saved.tensors) {
          deepEqual(back.tensors.get(key), t, `${name}: ${key} after import`);
        }
        const after = relativeDifference(await logits(), torch.changed);
        ok(after <= 1e-5, `${name}: imported logits differ by ${after}`);
      } finally {
        model.dispose();
        backend.dispose();
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
