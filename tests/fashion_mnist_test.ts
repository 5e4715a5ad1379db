/**
 * Fashion-MNIST loading: tiny data sets written by hand in a temporary
 * directory (gzipped and plain), the shipped subset, where `auto` looks, and
 * every way images and labels can disagree, refused with the files named.
 */
import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import {
  CLASS_NAMES,
  FASHION_MNIST_SYSTEM_DIR,
  loadFashionMnist,
} from "../src/data/fashion_mnist.ts";
import { readIdx } from "../src/data/idx.ts";
import {
  firstPerClass,
  makeFashionSubset,
  SUBSET_PER_CLASS,
  subsetReadme,
} from "../tools/make_fashion_subset.ts";

const EMBEDDED = new URL("../data/fashion-mnist/", import.meta.url);
const HAS_SYSTEM_FILES = (() => {
  try {
    return Deno.statSync(FASHION_MNIST_SYSTEM_DIR).isDirectory;
  } catch {
    return false;
  }
})();

/** An idx file of unsigned bytes, written by hand. */
function idxBytes(shape: number[], data: ArrayLike<number>): Uint8Array {
  const header = [0, 0, 0x08, shape.length];
  for (const n of shape) {
    header.push((n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
  }
  const bytes = new Uint8Array(header.length + data.length);
  bytes.set(header);
  bytes.set(data, header.length);
  return bytes;
}

/** Gzip-compressed bytes. */
async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Runs `fn` in a fresh temporary directory, removed afterwards. */
async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** `count` images of pseudo-random bytes, the same for the same seed. */
function pixels(count: number, seed: number, size = 784): Uint8Array {
  const out = new Uint8Array(count * size);
  let state = seed;
  for (let i = 0; i < out.length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    out[i] = state >>> 24;
  }
  // The extremes, so the scaling is seen to reach exactly 0 and 1.
  out[0] = 0;
  out[1] = 255;
  return out;
}

/** A tiny data set's files, gzipped or plain as asked. */
interface TinySet {
  trainImages?: Uint8Array;
  trainLabels?: Uint8Array;
  testImages?: Uint8Array;
  testLabels?: Uint8Array;
}

const TRAIN_IMAGES = pixels(5, 1);
const TRAIN_LABELS = new Uint8Array([9, 0, 4, 4, 1]);
const TEST_IMAGES = pixels(3, 2);
const TEST_LABELS = new Uint8Array([2, 7, 0]);

/**
 * Writes a tiny data set: train files gzipped, test files plain (so one load
 * sees both), with any file replaced by the bytes given.
 */
async function writeTinySet(dir: string, replace: TinySet = {}): Promise<void> {
  const files: [string, Uint8Array, boolean][] = [
    [
      "train-images-idx3-ubyte",
      replace.trainImages ?? idxBytes([5, 28, 28], TRAIN_IMAGES),
      true,
    ],
    [
      "train-labels-idx1-ubyte",
      replace.trainLabels ?? idxBytes([5], TRAIN_LABELS),
      true,
    ],
    [
      "t10k-images-idx3-ubyte",
      replace.testImages ?? idxBytes([3, 28, 28], TEST_IMAGES),
      false,
    ],
    [
      "t10k-labels-idx1-ubyte",
      replace.testLabels ?? idxBytes([3], TEST_LABELS),
      false,
    ],
  ];
  for (const [name, bytes, gzipped] of files) {
    if (gzipped) await Deno.writeFile(`${dir}/${name}.gz`, await gzip(bytes));
    else await Deno.writeFile(`${dir}/${name}`, bytes);
  }
}

/** How many labels of each class. */
function classCounts(labels: Uint8Array): number[] {
  const counts = new Array<number>(10).fill(0);
  for (const label of labels) counts[label]++;
  return counts;
}

Deno.test("CLASS_NAMES: the ten Fashion-MNIST classes by label", () => {
  equal(CLASS_NAMES.length, 10);
  equal(CLASS_NAMES[0], "T-shirt/top");
  equal(CLASS_NAMES[5], "Sandal");
  equal(CLASS_NAMES[9], "Ankle boot");
  throws(() => (CLASS_NAMES as string[]).push("Hat"), TypeError);
});

Deno.test("loadFashionMnist: a tiny set from a directory, gzipped and plain", async () => {
  await inTempDir(async (dir) => {
    await writeTinySet(dir);
    const data = await loadFashionMnist({ dir });
    equal(data.kind, "dir");
    equal(data.source, `${dir}/`);
    equal(data.train.count, 5);
    equal(data.test.count, 3);
    deepEqual(data.train.labels, TRAIN_LABELS);
    deepEqual(data.test.labels, TEST_LABELS);
    // Each value is the float32 nearest byte / 255, exactly.
    deepEqual(
      data.train.images,
      Float32Array.from(TRAIN_IMAGES, (v) => v / 255),
    );
    deepEqual(data.test.images, Float32Array.from(TEST_IMAGES, (v) => v / 255));
    equal(data.train.images[0], 0);
    equal(data.train.images[1], 1);
  });
});

Deno.test('loadFashionMnist: a relative path, a file: URL, and source "dir"', async () => {
  await inTempDir(async (dir) => {
    await writeTinySet(dir);
    const url = new URL(`file://${dir}`);
    // From the working directory up to the root, then down to `dir`.
    const up = "../".repeat(Deno.cwd().split("/").length - 1);
    const relative = `${up}${dir.slice(1)}`;
    for (
      const options of [
        { dir: url },
        { dir: url.href, source: "dir" as const },
        { dir: relative },
      ]
    ) {
      const data = await loadFashionMnist(options);
      equal(data.source, `${dir}/`, `source for ${options.dir}`);
      deepEqual(data.test.labels, TEST_LABELS);
    }
  });
});

Deno.test("loadFashionMnist: an http directory, with the fallback from .gz to plain", async () => {
  await inTempDir(async (dir) => {
    await writeTinySet(dir);
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      async (request) => {
        try {
          const path = `${dir}${new URL(request.url).pathname}`;
          return new Response(await Deno.readFile(path));
        } catch {
          return new Response("no", { status: 404 });
        }
      },
    );
    try {
      const base = `http://127.0.0.1:${server.addr.port}/`;
      const data = await loadFashionMnist({ dir: base });
      equal(data.source, base);
      deepEqual(data.train.labels, TRAIN_LABELS);
      deepEqual(data.test.labels, TEST_LABELS);
    } finally {
      await server.shutdown();
    }
  });
});

Deno.test("loadFashionMnist: a named directory that is missing is an error, never a fallback", async () => {
  await inTempDir(async (dir) => {
    await rejects(
      loadFashionMnist({ dir: `${dir}/absent` }),
      {
        message:
          `Cannot load Fashion-MNIST: dir must be an existing directory, got ${dir}/absent/`,
      },
    );
    await rejects(
      loadFashionMnist({ dir: `${dir}/absent`, source: "dir" }),
      /dir must be an existing directory/,
    );
  });
});

Deno.test("loadFashionMnist: a missing file is named", async () => {
  await inTempDir(async (dir) => {
    await writeTinySet(dir);
    await Deno.remove(`${dir}/t10k-labels-idx1-ubyte`);
    await rejects(
      loadFashionMnist({ dir }),
      {
        message:
          `Cannot load Fashion-MNIST: ${dir}/ must hold t10k-labels-idx1-ubyte.gz or t10k-labels-idx1-ubyte, got neither`,
      },
    );
  });
});

Deno.test("loadFashionMnist: options that contradict each other are refused", async () => {
  await rejects(
    loadFashionMnist({ source: "dir" }),
    {
      message:
        'Cannot load Fashion-MNIST: dir must be given with source "dir", got none',
    },
  );
  await rejects(
    loadFashionMnist({ dir: "/tmp", source: "embedded" }),
    {
      message:
        'Cannot load Fashion-MNIST: dir must be left out with source "embedded", got /tmp',
    },
  );
  await rejects(
    // @ts-expect-error: a source that does not exist
    loadFashionMnist({ source: "web" }),
    /source must be "auto", "dir", "system" or "embedded", got "web"/,
  );
});

Deno.test("loadFashionMnist: image and label counts must agree", async () => {
  await inTempDir(async (dir) => {
    await writeTinySet(dir, { trainLabels: idxBytes([4], [1, 2, 3, 4]) });
    await rejects(
      loadFashionMnist({ dir }),
      {
        message:
          `Cannot load Fashion-MNIST: ${dir}/train-labels-idx1-ubyte.gz must hold as many labels as ${dir}/train-images-idx3-ubyte.gz holds images (5), got 4`,
      },
    );
  });
});

Deno.test("loadFashionMnist: labels must be below 10", async () => {
  await inTempDir(async (dir) => {
    await writeTinySet(dir, { testLabels: idxBytes([3], [2, 10, 0]) });
    await rejects(
      loadFashionMnist({ dir }),
      {
        message:
          `Cannot load Fashion-MNIST: labels in ${dir}/t10k-labels-idx1-ubyte must be below 10, got 10 at index 1`,
      },
    );
  });
});

Deno.test("loadFashionMnist: images must be 28 × 28 and labels one-dimensional", async () => {
  await inTempDir(async (dir) => {
    await writeTinySet(dir, {
      testImages: idxBytes([3, 28, 27], pixels(3, 3, 28 * 27)),
    });
    await rejects(
      loadFashionMnist({ dir }),
      {
        message:
          `Cannot load Fashion-MNIST: ${dir}/t10k-images-idx3-ubyte must have shape [count, 28, 28], got [3, 28, 27]`,
      },
    );
  });
  await inTempDir(async (dir) => {
    await writeTinySet(dir, { trainImages: idxBytes([5, 784], TRAIN_IMAGES) });
    await rejects(
      loadFashionMnist({ dir }),
      /must have shape \[count, 28, 28\], got \[5, 784\]/,
    );
  });
  await inTempDir(async (dir) => {
    await writeTinySet(dir, { trainLabels: idxBytes([5, 1], TRAIN_LABELS) });
    await rejects(
      loadFashionMnist({ dir }),
      {
        message:
          `Cannot load Fashion-MNIST: ${dir}/train-labels-idx1-ubyte.gz must have shape [count], got [5, 1]`,
      },
    );
  });
});

Deno.test("loadFashionMnist: a malformed file is named", async () => {
  await inTempDir(async (dir) => {
    const cut = idxBytes([3], TEST_LABELS).subarray(0, 10);
    await writeTinySet(dir, { testLabels: cut });
    await rejects(
      loadFashionMnist({ dir }),
      {
        message:
          `Cannot read idx file ${dir}/t10k-labels-idx1-ubyte: the data must be 3 bytes for shape [3], got 2 (truncated)`,
      },
    );
  });
});

Deno.test("loadFashionMnist: the embedded subset is 3000 + 1000 balanced images in [0, 1]", async () => {
  const { train, test, kind, source } = await loadFashionMnist({
    source: "embedded",
  });
  equal(kind, "embedded");
  equal(
    source,
    EMBEDDED.protocol === "file:"
      ? decodeURIComponent(EMBEDDED.pathname)
      : EMBEDDED.href,
  );
  equal(train.count, 3000);
  equal(test.count, 1000);
  equal(train.images.length, 3000 * 784);
  equal(test.images.length, 1000 * 784);
  deepEqual(classCounts(train.labels), new Array(10).fill(300));
  deepEqual(classCounts(test.labels), new Array(10).fill(100));
  for (const split of [train, test]) {
    let sum = 0;
    for (const v of split.images) {
      ok(v >= 0 && v <= 1, `pixel ${v} out of [0, 1]`);
      sum += v;
    }
    // Real photographs: neither blank nor saturated on average.
    const mean = sum / split.images.length;
    ok(mean > 0.1 && mean < 0.6, `mean pixel ${mean}`);
  }
  // File order is kept: the labels are interleaved, not grouped by class.
  ok(
    train.labels.slice(0, 20).some((label, i) =>
      i > 0 && label !== train.labels[i - 1]
    ),
  );
  ok(train.labels.slice(0, 100).some((label) => label !== train.labels[0]));
});

Deno.test("loadFashionMnist: auto takes the system files when present, else the subset", async () => {
  const data = await loadFashionMnist();
  if (HAS_SYSTEM_FILES) {
    equal(data.kind, "system");
    equal(data.source, FASHION_MNIST_SYSTEM_DIR);
    equal(data.train.count, 60000);
    equal(data.test.count, 10000);
    deepEqual(classCounts(data.train.labels), new Array(10).fill(6000));
  } else {
    equal(data.kind, "embedded");
    equal(data.train.count, 3000);
    await rejects(
      loadFashionMnist({ source: "system" }),
      // Absent, or present but not readable under the test's permissions.
      /must be an existing directory|Requires read access/,
    );
  }
});

Deno.test("firstPerClass: keeps the first items of each class in file order", () => {
  const labels = new Uint8Array([1, 1, 0, 1, 2, 0, 2, 0, 1]);
  deepEqual(firstPerClass(labels, 2, 3), [0, 1, 2, 4, 5, 6]);
  deepEqual(firstPerClass(labels, 0, 3), []);
  throws(
    () => firstPerClass(labels, 4, 3),
    {
      message:
        "Cannot pick a subset: every class must have 4 items, got 3 of class 0",
    },
  );
  throws(
    () => firstPerClass(new Uint8Array([0, 3]), 1, 3),
    /labels must be below 3, got 3 at index 1/,
  );
});

Deno.test("makeFashionSubset: a subset of the subset is its first items of each class", async () => {
  const files = await makeFashionSubset({
    sourceDir: EMBEDDED,
    trainPerClass: 30,
    testPerClass: 10,
  });
  const images = await readIdx(new URL("train-images-idx3-ubyte.gz", EMBEDDED));
  const labels = await readIdx(new URL("train-labels-idx1-ubyte.gz", EMBEDDED));
  const kept = firstPerClass(labels.data, 30, 10);
  const small = files.get("train-images-idx3-ubyte")!;
  deepEqual(small.shape, [300, 28, 28]);
  for (const [k, index] of kept.entries()) {
    deepEqual(
      small.data.subarray(k * 784, (k + 1) * 784),
      images.data.subarray(index * 784, (index + 1) * 784),
      `image ${k}`,
    );
  }
  deepEqual(
    files.get("t10k-labels-idx1-ubyte")!.shape,
    [100],
  );
});

Deno.test({
  name:
    "data/fashion-mnist/ holds what tools/make_fashion_subset.ts makes from the system files",
  // Needs the full data set (the Debian package dataset-fashion-mnist).
  ignore: !HAS_SYSTEM_FILES,
  async fn() {
    const expected = await makeFashionSubset();
    equal(expected.size, 4);
    for (const [name, array] of expected) {
      const shipped = await readIdx(new URL(`${name}.gz`, EMBEDDED));
      deepEqual(shipped.shape, array.shape, `${name} shape`);
      ok(
        shipped.data.every((v, i) => v === array.data[i]),
        `${name} data`,
      );
    }
    deepEqual(
      expected.get("train-labels-idx1-ubyte")!.shape,
      [SUBSET_PER_CLASS.train * 10],
    );
    equal(
      await Deno.readTextFile(new URL("README.md", EMBEDDED)),
      subsetReadme(),
    );
  },
});
