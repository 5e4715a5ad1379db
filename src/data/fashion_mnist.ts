/**
 * Fashion-MNIST: 28 × 28 greyscale images of clothing in ten classes, from a
 * directory, the system's copy, or the class-balanced subset that ships with
 * this library (3000 training and 1000 test images).
 *
 * @module
 */

import { directoryUrl, readEither, showLocation } from "./_files.ts";
import { isLocalDirectory } from "./_local_files.ts";
import { EMBEDDED_FASHION_MNIST_DIR } from "../_package_files.ts";

/** The ten classes, by label. */
export const CLASS_NAMES: readonly string[] = Object.freeze([
  "T-shirt/top",
  "Trouser",
  "Pullover",
  "Dress",
  "Coat",
  "Sandal",
  "Shirt",
  "Sneaker",
  "Bag",
  "Ankle boot",
]);

/** Images and their labels. */
export interface Split {
  /** `count` images of 28 × 28 = 784 values in [0, 1], row after row. */
  images: Float32Array;
  /** `count` labels in [0, 10), indices into {@linkcode CLASS_NAMES}. */
  labels: Uint8Array;
  /** The number of images. */
  count: number;
}

/** Where {@linkcode loadFashionMnist} looks. */
export type FashionMnistSource = "auto" | "dir" | "system" | "embedded";

/** The data set as loaded. */
export interface FashionMnist {
  /** The training split. */
  train: Split;
  /** The test split. */
  test: Split;
  /** Which place the files came from. */
  kind: Exclude<FashionMnistSource, "auto">;
  /** The directory the files came from: a local path, else a URL. */
  source: string;
}

/** Options of {@linkcode loadFashionMnist}. */
export interface FashionMnistOptions {
  /** A directory with the four idx files, gzipped or not. */
  dir?: string | URL;
  /**
   * Where to look: `dir` (needs `dir`), `system` ({@linkcode
   * FASHION_MNIST_SYSTEM_DIR}), `embedded` (the subset shipped with this
   * library), or `auto` (the default): `dir` when given, else the system
   * directory when it exists and may be read, else the embedded subset.
   */
  source?: FashionMnistSource;
}

/** Where the Debian package `dataset-fashion-mnist` installs the data set. */
export const FASHION_MNIST_SYSTEM_DIR = "/usr/share/datasets/fashion-mnist/";

const SIDE = 28;
const CLASSES = 10;

/**
 * Loads Fashion-MNIST. Each place holds `train-images-idx3-ubyte`,
 * `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte` and
 * `t10k-labels-idx1-ubyte`, each gzipped (`.gz`) or not. A directory named by
 * the caller is used or refused, never silently replaced by another source.
 *
 * @param options Where to look (see {@linkcode FashionMnistOptions}).
 * @returns Both splits, with pixels scaled to [0, 1], and where they came from.
 * @throws {Error} When a file is missing, unreadable or malformed, or images
 *   and labels disagree (counts, 28 × 28 images, labels below 10); the message
 *   names the files.
 *
 * @example The embedded subset
 * ```ts
 * import { CLASS_NAMES, loadFashionMnist } from "./fashion_mnist.ts";
 * import { equal, ok } from "node:assert/strict";
 *
 * const { train, test, kind } = await loadFashionMnist({ source: "embedded" });
 * equal(kind, "embedded");
 * equal(train.count, 3000);
 * equal(test.images.length, test.count * 784);
 * ok(CLASS_NAMES[train.labels[0]] !== undefined);
 * ok(train.images.every((v) => v >= 0 && v <= 1));
 * ```
 */
export async function loadFashionMnist(
  options: FashionMnistOptions = {},
): Promise<FashionMnist> {
  const { dir, source = "auto" } = options;
  const what = "load Fashion-MNIST";
  if (!["auto", "dir", "system", "embedded"].includes(source)) {
    throw new TypeError(
      `Cannot ${what}: source must be "auto", "dir", "system" or "embedded", got ${
        JSON.stringify(source)
      }`,
    );
  }
  if (dir !== undefined && source !== "auto" && source !== "dir") {
    throw new TypeError(
      `Cannot ${what}: dir must be left out with source "${source}", got ${dir}`,
    );
  }
  if (source === "dir" && dir === undefined) {
    throw new TypeError(
      `Cannot ${what}: dir must be given with source "dir", got none`,
    );
  }
  if (dir !== undefined) {
    const url = directoryUrl(dir);
    if (url.protocol === "file:" && !await isLocalDirectory(url)) {
      throw new Error(
        `Cannot ${what}: dir must be an existing directory, got ${
          showLocation(url)
        }`,
      );
    }
    return await loadFrom(url, "dir", what);
  }
  // `auto` only probes: a system directory it may not read counts as absent.
  const probe = source === "auto" ? "absent" : "throw";
  if (
    source !== "embedded" &&
    await isLocalDirectory(FASHION_MNIST_SYSTEM_DIR, probe)
  ) {
    const system = directoryUrl(FASHION_MNIST_SYSTEM_DIR);
    return await loadFrom(system, "system", what);
  }
  if (source === "system") {
    throw new Error(
      `Cannot ${what}: ${FASHION_MNIST_SYSTEM_DIR} must be an existing directory (the Debian package dataset-fashion-mnist installs it), got none`,
    );
  }
  return await loadFrom(EMBEDDED_FASHION_MNIST_DIR, "embedded", what);
}

/** Reads both splits from one directory. */
async function loadFrom(
  base: URL,
  kind: FashionMnist["kind"],
  what: string,
): Promise<FashionMnist> {
  const [train, test] = await Promise.all([
    loadSplit(base, "train", what),
    loadSplit(base, "t10k", what),
  ]);
  return { train, test, kind, source: showLocation(base) };
}

/** Reads one split's two files and checks that they agree. */
async function loadSplit(
  base: URL,
  split: "train" | "t10k",
  what: string,
): Promise<Split> {
  const [images, labels] = await Promise.all([
    readEither(base, `${split}-images-idx3-ubyte`, what),
    readEither(base, `${split}-labels-idx1-ubyte`, what),
  ]);
  const [count, height, width] = images.array.shape;
  if (images.array.shape.length !== 3 || height !== SIDE || width !== SIDE) {
    throw new RangeError(
      `Cannot ${what}: ${images.name} must have shape [count, 28, 28], got [${
        images.array.shape.join(", ")
      }]`,
    );
  }
  if (labels.array.shape.length !== 1) {
    throw new RangeError(
      `Cannot ${what}: ${labels.name} must have shape [count], got [${
        labels.array.shape.join(", ")
      }]`,
    );
  }
  if (labels.array.shape[0] !== count) {
    throw new RangeError(
      `Cannot ${what}: ${labels.name} must hold as many labels as ${images.name} holds images (${count}), got ${
        labels.array.shape[0]
      }`,
    );
  }
  const bad = labels.array.data.findIndex((label) => label >= CLASSES);
  if (bad >= 0) {
    throw new RangeError(
      `Cannot ${what}: labels in ${labels.name} must be below ${CLASSES}, got ${
        labels.array.data[bad]
      } at index ${bad}`,
    );
  }
  const pixels = images.array.data;
  const scaled = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) scaled[i] = pixels[i] / 255;
  return { images: scaled, labels: labels.array.data, count };
}
