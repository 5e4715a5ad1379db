/**
 * A minimal reader of the official Fashion-MNIST idx files for benchmarks.
 *
 * @module
 */

/** The directory the Debian package `dataset-fashion-mnist` installs. */
export const FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist";

/** Images as floats in [0, 1], row after row, with their labels. */
export interface Split {
  x: Float32Array;
  labels: Uint8Array;
  count: number;
}

async function gunzip(path: string): Promise<Uint8Array> {
  const file = await Deno.open(path);
  const stream = file.readable.pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * Reads one split (`train` or `t10k`).
 *
 * @param split Which split.
 * @param dir Where the gzipped idx files are.
 * @returns The images and labels.
 */
export async function readSplit(
  split: "train" | "t10k",
  dir = FASHION_MNIST_DIR,
): Promise<Split> {
  const images = await gunzip(`${dir}/${split}-images-idx3-ubyte.gz`);
  const labels = await gunzip(`${dir}/${split}-labels-idx1-ubyte.gz`);
  const view = new DataView(images.buffer);
  if (
    view.getUint32(0) !== 0x803 ||
    new DataView(labels.buffer).getUint32(0) !== 0x801
  ) {
    throw new Error(`Cannot read Fashion-MNIST ${split}: bad magic numbers`);
  }
  const count = view.getUint32(4);
  const x = new Float32Array(count * 784);
  for (let i = 0; i < x.length; i++) x[i] = images[16 + i] / 255;
  return { x, labels: labels.slice(8, 8 + count), count };
}
