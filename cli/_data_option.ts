/**
 * The `--data` option of the command-line programs.
 *
 * @module
 */

import type { FashionMnistOptions } from "../mod.ts";

/**
 * Where to load Fashion-MNIST from: a directory, `embedded` for the subset
 * shipped with the library, or (absent) the loader's own search.
 *
 * @param data The option's value.
 * @returns The loader's options.
 *
 * @example The shipped subset
 * ```ts
 * import { dataOptions } from "./_data_option.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(dataOptions("embedded"), { source: "embedded" });
 * ```
 */
export function dataOptions(data: string | undefined): FashionMnistOptions {
  if (data === undefined) return {};
  return data === "embedded" ? { source: "embedded" } : { dir: data };
}
