/**
 * Finding the files of an idx data set in a directory given as a path or a
 * URL, gzipped or not.
 *
 * @module
 */

import { type IdxArray, readIdx } from "./idx.ts";
import { isNotFound, readLocalFile, workingDirectory } from "./_local_files.ts";

/** One idx file as read, with where it came from. */
export interface LocatedIdx {
  /** The decoded file. */
  array: IdxArray;
  /** The file's path, or its URL when it is not local. */
  name: string;
}

/**
 * A directory as a URL ending in `/`, so file names resolve inside it.
 *
 * @param dir A path (absolute, or relative to the working directory) or a
 *   URL (`URL`, or a string starting `file:`, `http:` or `https:`).
 * @returns The directory's URL.
 */
export function directoryUrl(dir: string | URL): URL {
  let url: URL;
  if (dir instanceof URL || /^(file|https?):/i.test(dir)) {
    url = new URL(dir);
  } else {
    const absolute = /^([\\/]|[A-Za-z]:[\\/])/.test(dir)
      ? dir
      : `${workingDirectory()}/${dir}`;
    url = new URL("file:///");
    // The setter percent-encodes what a path may hold (spaces, `#`, `?`).
    url.pathname = absolute.replaceAll("\\", "/");
  }
  if (!url.pathname.endsWith("/")) url.pathname += "/";
  return url;
}

/**
 * A local file as its path, anything else as its URL.
 *
 * @param url The file's URL.
 * @returns What messages call it.
 */
export function showLocation(url: URL): string {
  return url.protocol === "file:" ? decodeURIComponent(url.pathname) : url.href;
}

/**
 * Reads `<stem>.gz` in a directory, or `<stem>` when there is no gzipped file.
 *
 * @param base The directory's URL (ending in `/`).
 * @param stem The file name without `.gz`.
 * @param what What the caller cannot do when neither exists, for the message.
 * @returns The decoded file and its name.
 */
export async function readEither(
  base: URL,
  stem: string,
  what: string,
): Promise<LocatedIdx> {
  for (const url of [new URL(`${stem}.gz`, base), new URL(stem, base)]) {
    const bytes = await readIfPresent(url);
    if (bytes === undefined) continue;
    const name = showLocation(url);
    return { array: await readIdx(bytes, name), name };
  }
  throw new Error(
    `Cannot ${what}: ${
      showLocation(base)
    } must hold ${stem}.gz or ${stem}, got neither`,
  );
}

/** A file's bytes, or `undefined` when there is no such file. */
async function readIfPresent(url: URL): Promise<Uint8Array | undefined> {
  try {
    if (url.protocol === "file:") return await readLocalFile(url);
    const response = await fetch(url);
    if (response.status === 404) {
      await response.body?.cancel();
      return undefined;
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(
        `the fetch must succeed, got ${response.status} ${response.statusText}`,
      );
    }
    return new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw new Error(
      `Cannot read ${showLocation(url)}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}
