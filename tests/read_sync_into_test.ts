import { deepEqual, equal, notEqual, ok, throws } from "node:assert/strict";
import { type Backend, createBackend } from "../mod.ts";

/** The CPU backends: the ones with readSync. */
const CPU = ["reference", "wasm"] as const;

/** Runs `fn` with a fresh backend's readSync, disposing the backend afterwards. */
async function withCpu(
  name: (typeof CPU)[number],
  fn: (backend: Backend, readSync: NonNullable<Backend["readSync"]>) => void,
): Promise<void> {
  const backend = await createBackend(name);
  try {
    ok(backend.readSync !== undefined, `${name} has readSync`);
    fn(backend, backend.readSync.bind(backend));
  } finally {
    backend.dispose();
  }
}

const VALUES = new Float32Array([1.5, -2, 0, -0, 3.25e-40, 7]);

for (const name of CPU) {
  Deno.test(`${name}: readSync into a subarray fills only that part and returns it`, async () => {
    await withCpu(name, (backend, readSync) => {
      const t = backend.tensor(VALUES, [2, 3]);
      const big = new Float32Array(10).fill(-9);
      const into = big.subarray(2, 8);
      const got = readSync(t, into);
      equal(got, into);
      deepEqual([...big.subarray(0, 2)], [-9, -9]);
      deepEqual([...big.subarray(8)], [-9, -9]);
      // Bit for bit: -0 and the subnormal too.
      deepEqual(
        [...new Uint32Array(big.buffer, 8, 6)],
        [...new Uint32Array(VALUES.buffer)],
      );
      // A copy: changing it does not change the tensor.
      into.fill(1);
      deepEqual([...readSync(t)], [...VALUES]);
    });
  });

  Deno.test(`${name}: readSync into shared memory and from a reshaped view`, async () => {
    await withCpu(name, (backend, readSync) => {
      const t = backend.tensor(VALUES, [6]);
      const view = backend.reshape(t, [3, 2]);
      const shared = new Float32Array(new SharedArrayBuffer(4 * 9), 4 * 3, 6);
      equal(readSync(view, shared), shared);
      deepEqual([...shared], [...VALUES]);
      deepEqual([...new Float32Array(shared.buffer, 0, 3)], [0, 0, 0]);
    });
  });

  Deno.test(`${name}: readSync of a uint32 tensor into a Uint32Array`, async () => {
    await withCpu(name, (backend, readSync) => {
      const t = backend.allocate([4], "uint32");
      const data = new Uint32Array([0, 1, 2 ** 32 - 1, 123456789]);
      backend.upload(t, data);
      const big = new Uint32Array(7).fill(55);
      const into = big.subarray(1, 5);
      equal(readSync(t, into), into);
      deepEqual([...big], [55, ...data, 55, 55]);
      // Without `into`, a new array that does not alias the tensor.
      const fresh = readSync(t);
      ok(fresh instanceof Uint32Array);
      notEqual(fresh, into);
      deepEqual([...fresh], [...data]);
    });
  });

  Deno.test(`${name}: readSync refuses an array of the wrong type, and leaves it untouched`, async () => {
    await withCpu(name, (backend, readSync) => {
      const f = backend.tensor(VALUES, [6]);
      const u = backend.allocate([6], "uint32");
      const cases: [typeof f | typeof u, unknown, string][] = [
        [
          f,
          new Float64Array(6),
          "a Float32Array for a float32 tensor, got Float64Array",
        ],
        [
          f,
          new Uint32Array(6),
          "a Float32Array for a float32 tensor, got Uint32Array",
        ],
        [
          f,
          new Array(6).fill(0),
          "a Float32Array for a float32 tensor, got Array",
        ],
        [
          u,
          new Float32Array(6),
          "a Uint32Array for a uint32 tensor, got Float32Array",
        ],
        [
          u,
          new Int32Array(6),
          "a Uint32Array for a uint32 tensor, got Int32Array",
        ],
      ];
      for (const [t, into, detail] of cases) {
        const before = Array.from(into as ArrayLike<number>);
        throws(
          () => readSync(t, into as never),
          (e: unknown) =>
            e instanceof TypeError &&
            e.message === `Cannot read a tensor: into must be ${detail}`,
          detail,
        );
        deepEqual(Array.from(into as ArrayLike<number>), before);
      }
    });
  });

  Deno.test(`${name}: readSync refuses an array of the wrong length, and leaves it untouched`, async () => {
    await withCpu(name, (backend, readSync) => {
      const t = backend.tensor(VALUES, [2, 3]);
      for (const length of [0, 5, 7, 12]) {
        const into = new Float32Array(length).fill(4);
        throws(
          () => readSync(t, into),
          (e: unknown) =>
            e instanceof RangeError &&
            e.message ===
              `Cannot read a tensor: into must have the tensor's 6 elements, got ${length}`,
          `length ${length}`,
        );
        ok(into.every((v) => v === 4));
      }
      const u = backend.allocate([3], "uint32");
      throws(
        () => readSync(u, new Uint32Array(2)),
        /^RangeError: Cannot read a tensor: into must have the tensor's 3 elements, got 2$/,
      );
    });
  });

  Deno.test(`${name}: readSync of a released tensor fails before touching into`, async () => {
    await withCpu(name, (backend, readSync) => {
      const t = backend.tensor(VALUES, [6]);
      backend.release(t);
      const into = new Float32Array(6).fill(2);
      throws(() => readSync(t, into), /^TypeError: Cannot read a tensor: /);
      ok(into.every((v) => v === 2));
    });
  });
}
