/** Running a loaded model in tests. */
import type { LoadedModel } from "../../mod.ts";

/**
 * The logits of rows `x` (evaluation mode, the model's default).
 *
 * @param loaded The model, its backend and input shape.
 * @param x The rows.
 * @returns rows × classes logits.
 */
export async function logitsOf(
  { model, backend, inputShape }: Pick<
    LoadedModel,
    "model" | "backend" | "inputShape"
  >,
  x: Float32Array,
): Promise<Float32Array> {
  const size = inputShape.reduce((a, b) => a * b, 1);
  const input = backend.tensor(x, [x.length / size, ...inputShape]);
  const y = model.forward(input);
  try {
    return await backend.read(y);
  } finally {
    backend.release(y);
    backend.release(input);
  }
}
