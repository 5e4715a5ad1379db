/**
 * The few file operations an atomic write needs, on Deno's file system or
 * on Node's.
 *
 * @module
 */

import { currentRuntime, nodeBuiltin } from "../_runtime.ts";

/** A file opened for writing. */
export interface WritableFile {
  /** Writes some of `bytes`; returns how many. */
  write(bytes: Uint8Array): Promise<number>;
  /** Flushes the file's data to the disk. */
  sync(): Promise<void>;
  /** Closes the file. */
  close(): Promise<void>;
}

/** What {@linkcode writeFileAtomic} does with files. */
export interface FileSystem {
  /** Creates a file that must not exist yet, for writing. */
  createNew(path: string): Promise<WritableFile>;
  /** Renames a file, replacing `to`. */
  rename(from: string, to: string): Promise<void>;
  /** Removes a file. */
  remove(path: string): Promise<void>;
}

/**
 * The runtime's file system. Its errors are the runtime's own (Deno's
 * `Deno.errors.NotFound`, Node's `ENOENT` errors).
 *
 * @returns Deno's or Node's file system, or undefined in a runtime without
 *   one (a browser).
 *
 * @example Create, rename and remove a file
 * ```ts
 * import { localFileSystem } from "./_file_system.ts";
 * import { equal } from "node:assert/strict";
 *
 * const fs = (await localFileSystem())!;
 * const dir = await Deno.makeTempDir();
 * const file = await fs.createNew(`${dir}/a`);
 * equal(await file.write(new Uint8Array([1, 2])), 2);
 * await file.sync();
 * await file.close();
 * await fs.rename(`${dir}/a`, `${dir}/b`);
 * await fs.remove(`${dir}/b`);
 * await Deno.remove(dir);
 * ```
 */
export async function localFileSystem(): Promise<FileSystem | undefined> {
  switch (currentRuntime()) {
    case "deno":
      // Some hosted Deno runtimes have no writable file system.
      return typeof Deno.open === "function" ? denoFileSystem() : undefined;
    case "node":
      return nodeFileSystem(
        await nodeBuiltin<typeof import("node:fs/promises")>(
          "node:fs/promises",
        ),
      );
    default:
      return undefined;
  }
}

/** Deno's file system. */
function denoFileSystem(): FileSystem {
  return {
    async createNew(path) {
      const file = await Deno.open(path, { write: true, createNew: true });
      return {
        write: (bytes) => file.write(bytes),
        sync: () => file.sync(),
        close: () => Promise.resolve(file.close()),
      };
    },
    rename: (from, to) => Deno.rename(from, to),
    remove: (path) => Deno.remove(path),
  };
}

/** Node's file system. */
function nodeFileSystem(fs: typeof import("node:fs/promises")): FileSystem {
  return {
    async createNew(path) {
      const file = await fs.open(path, "wx");
      return {
        write: async (bytes) => (await file.write(bytes)).bytesWritten,
        sync: () => file.sync(),
        close: () => file.close(),
      };
    },
    rename: (from, to) => fs.rename(from, to),
    remove: (path) => fs.unlink(path),
  };
}
