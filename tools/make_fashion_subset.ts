/**
 * Writes the class-balanced Fashion-MNIST subset that ships in
 * `data/fashion-mnist/`: the first 300 training and the first 100 test images
 * of each class, in file order, from the official idx files, as four gzipped
 * idx files and a README with the data set's licence.
 *
 * ```sh
 * deno run --allow-read --allow-write tools/make_fashion_subset.ts [source-dir]
 * ```
 *
 * `source-dir` defaults to `/usr/share/datasets/fashion-mnist/`. The output
 * depends only on the source files, so running it again rewrites the same
 * bytes.
 *
 * @module
 */

import { encodeIdx, type IdxArray } from "../src/data/idx.ts";
import { directoryUrl, readEither } from "../src/data/_files.ts";
import {
  CLASS_NAMES,
  FASHION_MNIST_SYSTEM_DIR,
} from "../src/data/fashion_mnist.ts";

/** Images per class in the shipped subset, by split. */
export const SUBSET_PER_CLASS: Readonly<{ train: number; test: number }> =
  Object.freeze({ train: 300, test: 100 });

/** Where the shipped subset lives. */
const OUTPUT_DIR = new URL("../data/fashion-mnist/", import.meta.url);

/** The command that writes the shipped subset, as the README gives it. */
const COMMAND =
  "deno run --allow-read --allow-write tools/make_fashion_subset.ts";

/** Options of {@linkcode makeFashionSubset}. */
export interface FashionSubsetOptions {
  /** Where the full data set's idx files are (gzipped or not). */
  sourceDir?: string | URL;
  /** Training images per class. */
  trainPerClass?: number;
  /** Test images per class. */
  testPerClass?: number;
}

/**
 * The indices of the first `perClass` items of each class, in file order.
 *
 * @param labels Labels in [0, `classes`).
 * @param perClass How many items of each class to keep.
 * @param classes The number of classes.
 * @returns The kept indices, ascending.
 * @throws {RangeError} When a label is out of range or a class has fewer than
 *   `perClass` items.
 *
 * @example Two of each of three classes
 * ```ts
 * import { firstPerClass } from "./make_fashion_subset.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const labels = new Uint8Array([2, 0, 0, 1, 0, 2, 1, 1, 2]);
 * deepEqual(firstPerClass(labels, 2, 3), [0, 1, 2, 3, 5, 6]);
 * ```
 */
export function firstPerClass(
  labels: Uint8Array,
  perClass: number,
  classes: number,
): number[] {
  const taken = new Array<number>(classes).fill(0);
  const kept: number[] = [];
  labels.forEach((label, i) => {
    if (label >= classes) {
      throw new RangeError(
        `Cannot pick a subset: labels must be below ${classes}, got ${label} at index ${i}`,
      );
    }
    if (taken[label] < perClass) {
      taken[label]++;
      kept.push(i);
    }
  });
  const short = taken.findIndex((n) => n < perClass);
  if (short >= 0) {
    throw new RangeError(
      `Cannot pick a subset: every class must have ${perClass} items, got ${
        taken[short]
      } of class ${short}`,
    );
  }
  return kept;
}

/**
 * The subset's four idx arrays, by file name (without `.gz`).
 *
 * @param options Where the full data set is, and how many images per class.
 * @returns `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
 *   `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte`.
 * @throws {Error} When a source file is missing or malformed, or a class has
 *   too few images.
 *
 * @example A smaller subset of the shipped subset
 * ```ts
 * import { makeFashionSubset } from "./make_fashion_subset.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const files = await makeFashionSubset({
 *   sourceDir: new URL("../data/fashion-mnist/", import.meta.url),
 *   trainPerClass: 3,
 *   testPerClass: 1,
 * });
 * deepEqual(files.get("train-images-idx3-ubyte")!.shape, [30, 28, 28]);
 * deepEqual(files.get("t10k-labels-idx1-ubyte")!.shape, [10]);
 * ```
 */
export async function makeFashionSubset(
  options: FashionSubsetOptions = {},
): Promise<Map<string, IdxArray>> {
  const {
    sourceDir = FASHION_MNIST_SYSTEM_DIR,
    trainPerClass = SUBSET_PER_CLASS.train,
    testPerClass = SUBSET_PER_CLASS.test,
  } = options;
  const base = directoryUrl(sourceDir);
  const files = new Map<string, IdxArray>();
  for (
    const [split, perClass] of [["train", trainPerClass], [
      "t10k",
      testPerClass,
    ]] as const
  ) {
    const imagesName = `${split}-images-idx3-ubyte`;
    const labelsName = `${split}-labels-idx1-ubyte`;
    const what = "pick a subset";
    const images = (await readEither(base, imagesName, what)).array;
    const labels = (await readEither(base, labelsName, what)).array;
    const size = images.shape[1] * images.shape[2];
    if (images.shape.length !== 3 || images.shape[0] !== labels.data.length) {
      throw new RangeError(
        `Cannot pick a subset: ${imagesName} must be [${labels.data.length}, rows, columns] like ${labelsName}, got [${
          images.shape.join(", ")
        }]`,
      );
    }
    const kept = firstPerClass(labels.data, perClass, CLASS_NAMES.length);
    const pixels = new Uint8Array(kept.length * size);
    kept.forEach((index, k) => {
      pixels.set(
        images.data.subarray(index * size, (index + 1) * size),
        k * size,
      );
    });
    files.set(imagesName, {
      shape: [kept.length, images.shape[1], images.shape[2]],
      data: pixels,
    });
    files.set(labelsName, {
      shape: [kept.length],
      data: new Uint8Array(kept.map((index) => labels.data[index])),
    });
  }
  return files;
}

/**
 * Writes the subset as gzipped idx files (`<name>.gz`) and a README.md.
 *
 * @param outDir The directory to write into (created when missing).
 * @param options Where the full data set is, and how many images per class.
 * @returns The written files' sizes in bytes, by file name.
 *
 * @example Write a tiny subset and load it
 * ```ts
 * import { writeFashionSubset } from "./make_fashion_subset.ts";
 * import { loadFashionMnist } from "../src/data/fashion_mnist.ts";
 * import { equal, ok } from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * const sizes = await writeFashionSubset(dir, {
 *   sourceDir: new URL("../data/fashion-mnist/", import.meta.url),
 *   trainPerClass: 2,
 *   testPerClass: 1,
 * });
 * ok(sizes.get("README.md")! > 0);
 * const { train, test } = await loadFashionMnist({ dir });
 * equal(train.count + test.count, 30);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeFashionSubset(
  outDir: string | URL,
  options: FashionSubsetOptions = {},
): Promise<Map<string, number>> {
  const base = directoryUrl(outDir);
  await Deno.mkdir(base, { recursive: true });
  const sizes = new Map<string, number>();
  for (const [name, array] of await makeFashionSubset(options)) {
    const bytes = await gzip(encodeIdx(array));
    await Deno.writeFile(new URL(`${name}.gz`, base), bytes);
    sizes.set(`${name}.gz`, bytes.length);
  }
  const readme = new TextEncoder().encode(subsetReadme(options));
  await Deno.writeFile(new URL("README.md", base), readme);
  sizes.set("README.md", readme.length);
  return sizes;
}

/**
 * The README.md of the subset: what it is, how it was made, and the licence.
 *
 * @param options The counts per class the subset was made with.
 * @returns Markdown, formatted as `deno fmt` leaves it.
 *
 * @example The licence is in it
 * ```ts
 * import { subsetReadme } from "./make_fashion_subset.ts";
 * import { ok } from "node:assert/strict";
 *
 * ok(subsetReadme().includes("Copyright (c) 2017 Zalando SE"));
 * ```
 */
export function subsetReadme(options: FashionSubsetOptions = {}): string {
  const train = options.trainPerClass ?? SUBSET_PER_CLASS.train;
  const test = options.testPerClass ?? SUBSET_PER_CLASS.test;
  const classes = CLASS_NAMES.length;
  // Wrapped as `deno fmt` wraps Markdown, so the written file passes its check.
  return `# Fashion-MNIST subset

A class-balanced subset of
[Fashion-MNIST](https://github.com/zalandoresearch/fashion-mnist), small enough
to ship with this library, so examples and tests train on real images without a
download. \`loadFashionMnist({ source: "embedded" })\` reads it, and
\`loadFashionMnist()\` falls back to it when the full data set is not installed.

- \`train-images-idx3-ubyte.gz\`: ${
    train * classes
  } training images, 28 × 28 bytes each;
- \`train-labels-idx1-ubyte.gz\`: their labels, ${train} of each class;
- \`t10k-images-idx3-ubyte.gz\`: ${
    test * classes
  } test images, 28 × 28 bytes each;
- \`t10k-labels-idx1-ubyte.gz\`: their labels, ${test} of each class.

The files are the official gzipped idx files, cut down: the first ${train} training
images and the first ${test} test images of each of the ${classes} classes, in file order
(images keep their order in the original files). Pixel values are unchanged.

## How it was made

From the official files (by default those of the Debian package
\`dataset-fashion-mnist\`, in \`/usr/share/datasets/fashion-mnist/\`), at the
repository root:

\`\`\`sh
${COMMAND}
\`\`\`

The output depends only on the source files; running the command again rewrites
the same bytes.

## Licence

Fashion-MNIST is distributed under the MIT License:

> The MIT License (MIT)
>
> Copyright (c) 2017 Zalando SE
>
> Permission is hereby granted, free of charge, to any person obtaining a copy
> of this software and associated documentation files (the "Software"), to deal
> in the Software without restriction, including without limitation the rights
> to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
> copies of the Software, and to permit persons to whom the Software is
> furnished to do so, subject to the following conditions:
>
> The above copyright notice and this permission notice shall be included in all
> copies or substantial portions of the Software.
>
> THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
> IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
> FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
> AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
> LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
> OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
> SOFTWARE.
`;
}

/** Gzip-compresses bytes. */
async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  // Blob takes no views of shared memory: those are copied first.
  const owned = bytes.buffer instanceof ArrayBuffer
    ? bytes as Uint8Array<ArrayBuffer>
    : bytes.slice();
  const stream = new Blob([owned]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

if (import.meta.main) {
  const sourceDir = Deno.args[0] ?? FASHION_MNIST_SYSTEM_DIR;
  const sizes = await writeFashionSubset(OUTPUT_DIR, { sourceDir });
  let total = 0;
  for (const [name, size] of sizes) {
    console.log(`${name.padEnd(28)} ${size.toLocaleString("en-US")} bytes`);
    total += size;
  }
  console.log(`${"total".padEnd(28)} ${total.toLocaleString("en-US")} bytes`);
}
