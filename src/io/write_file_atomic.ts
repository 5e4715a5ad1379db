/**
 * Writing a file so that a reader sees the old file or the new one, never a
 * part of either.
 *
 * @module
 */

import { localFileSystem } from "./_file_system.ts";

/**
 * Writes `bytes` to `path` atomically: into a fresh file next to it, flushed
 * to disk, then renamed over `path`. A crash or Ctrl-C at any moment leaves
 * the previous file intact. Needs a file system: Deno's or Node's.
 *
 * @param path Where the file goes.
 * @param bytes Its contents.
 * @throws {Error} When the runtime has no file system (a browser), or the
 *   write or rename fails (the file system's error is the `cause`); the
 *   temporary file is removed then.
 *
 * @example Replace a file
 * ```ts
 * import { writeFileAtomic } from "./write_file_atomic.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/a.bin`, new Uint8Array([1]));
 * await writeFileAtomic(`${dir}/a.bin`, new Uint8Array([2, 3]));
 * deepEqual([...await Deno.readFile(`${dir}/a.bin`)], [2, 3]);
 * deepEqual([...Deno.readDirSync(dir)].length, 1);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeFileAtomic(
  path: string,
  bytes: Uint8Array,
): Promise<void> {
  const fs = await localFileSystem();
  if (fs === undefined) {
    throw new Error(
      `Cannot write ${path}: writing files needs a file system (Deno's or Node's), got a runtime without one; keep the bytes instead`,
    );
  }
  const suffix = crypto.getRandomValues(new Uint32Array(1))[0].toString(36);
  const temporary = `${path}.${suffix}.tmp`;
  try {
    const file = await fs.createNew(temporary);
    try {
      let written = 0;
      while (written < bytes.length) {
        written += await file.write(bytes.subarray(written));
      }
      await file.sync();
    } finally {
      await file.close();
    }
    await fs.rename(temporary, path);
  } catch (error) {
    await fs.remove(temporary).catch(() => {});
    throw new Error(`Cannot write ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}
