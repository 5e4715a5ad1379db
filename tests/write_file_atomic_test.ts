import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { writeFileAtomic } from "../src/io/write_file_atomic.ts";

/** Runs `fn` in a fresh temporary directory, removed afterwards. */
async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The names in a directory, sorted. */
function names(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

Deno.test("writeFileAtomic: writes a new file and leaves no temporary file", async () => {
  await inTempDir(async (dir) => {
    const bytes = new Uint8Array([0, 1, 2, 255, 128]);
    await writeFileAtomic(`${dir}/a.bin`, bytes);
    deepEqual(await Deno.readFile(`${dir}/a.bin`), bytes);
    deepEqual(names(dir), ["a.bin"]);
  });
});

Deno.test("writeFileAtomic: replaces a longer file entirely, and writes empty files", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/state.safetensors`;
    await Deno.writeFile(path, new Uint8Array(1000).fill(7));
    await writeFileAtomic(path, new Uint8Array([9, 8, 7]));
    deepEqual([...await Deno.readFile(path)], [9, 8, 7]);
    await writeFileAtomic(path, new Uint8Array(0));
    equal((await Deno.readFile(path)).length, 0);
    deepEqual(names(dir), ["state.safetensors"]);
  });
});

Deno.test("writeFileAtomic: a large file and a subarray are written whole", async () => {
  await inTempDir(async (dir) => {
    const big = new Uint8Array(3 * 1024 * 1024 + 13);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 8)) & 255;
    await writeFileAtomic(`${dir}/big.bin`, big);
    deepEqual(await Deno.readFile(`${dir}/big.bin`), big);
    // Only the view's bytes, not the rest of its buffer.
    await writeFileAtomic(`${dir}/part.bin`, big.subarray(100, 110));
    deepEqual(await Deno.readFile(`${dir}/part.bin`), big.slice(100, 110));
    deepEqual(names(dir), ["big.bin", "part.bin"]);
  });
});

Deno.test("writeFileAtomic: concurrent writes leave one whole version and no temporary file", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/c.bin`;
    const versions = [1, 2, 3, 4].map((v) => new Uint8Array(100_000).fill(v));
    await Promise.all(versions.map((v) => writeFileAtomic(path, v)));
    const got = await Deno.readFile(path);
    ok(
      versions.some((v) =>
        v.length === got.length && v.every((b, i) => b === got[i])
      ),
    );
    deepEqual(names(dir), ["c.bin"]);
  });
});

Deno.test("writeFileAtomic: a missing directory throws, naming the path, and leaves nothing", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/missing/a.bin`;
    await rejects(
      writeFileAtomic(path, new Uint8Array([1])),
      (e: unknown) =>
        e instanceof Error && e.message.startsWith(`Cannot write ${path}: `) &&
        e.cause instanceof Deno.errors.NotFound,
    );
    deepEqual(names(dir), []);
  });
});

Deno.test("writeFileAtomic: a failed rename removes the temporary file and keeps the old contents", async () => {
  await inTempDir(async (dir) => {
    // A directory (not empty) cannot be replaced by a file: the rename fails
    // after the temporary file was written.
    const path = `${dir}/target`;
    await Deno.mkdir(path);
    await Deno.writeFile(`${path}/inside.bin`, new Uint8Array([5]));
    await rejects(
      writeFileAtomic(path, new Uint8Array([1, 2])),
      (e: unknown) => e instanceof Error,
    );
    deepEqual(names(dir), ["target"]);
    deepEqual(names(path), ["inside.bin"]);
    deepEqual([...await Deno.readFile(`${path}/inside.bin`)], [5]);
  });
});
