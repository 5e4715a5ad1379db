/**
 * The npm package's manifest, written into the bundle's directory so that
 * the directory is the package.
 *
 * @module
 */

/** What the manifest is made from. */
export interface ManifestSource {
  /** The package name (`deno.json`'s `name`). */
  name: string;
  /** Its version. */
  version: string;
  /** Its licence. */
  license: string;
  /** `@webgpu/types`' version range, for the optional peer dependency. */
  webgpuTypes: string;
}

/**
 * The `package.json` of the bundle: ESM only, types beside the code, no
 * runtime dependencies (comlink is bundled).
 *
 * @param source Name, version, licence, `@webgpu/types` version.
 * @returns The manifest as an object.
 *
 * @example
 * ```ts
 * import { packageManifest } from "./package_json.ts";
 * import { equal } from "node:assert/strict";
 *
 * const m = packageManifest({ name: "@jumpout/jumpout", version: "0.1.0", license: "MIT", webgpuTypes: "0.1.74" });
 * equal(m.type, "module");
 * ```
 */
export function packageManifest(
  source: ManifestSource,
): Record<string, unknown> {
  return {
    name: source.name,
    version: source.version,
    description:
      "Jumpout, an improved dropout for ReLU networks, on WebAssembly SIMD and WebGPU, with data-parallel training in Web Workers",
    license: source.license,
    type: "module",
    main: "./jumpout.js",
    module: "./jumpout.js",
    types: "./jumpout.d.ts",
    exports: {
      ".": { types: "./jumpout.d.ts", default: "./jumpout.js" },
      "./worker": "./jumpout.worker.js",
      "./package.json": "./package.json",
    },
    files: [
      "jumpout.js",
      "jumpout.js.map",
      "jumpout.worker.js",
      "jumpout.worker.js.map",
      "chunks/",
      "jumpout.d.ts",
      "types/",
      "data/",
      "README.md",
      "LICENSE",
    ],
    keywords: ["dropout", "jumpout", "neural-network", "webgpu", "wasm"],
    engines: { node: ">=20" },
    peerDependencies: { "@webgpu/types": source.webgpuTypes },
    peerDependenciesMeta: { "@webgpu/types": { optional: true } },
  };
}
