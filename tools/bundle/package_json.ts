/**
 * The npm package's manifest, written into the bundle's directory so that
 * the directory is the package.
 *
 * @module
 */

/** The TensorFlow.js packages the `./tfjs` entry imports. */
const TFJS_PEERS = ["@tensorflow/tfjs-core", "@tensorflow/tfjs-layers"];

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
  /**
   * The TensorFlow.js version the `./tfjs` entry is built and tested
   * against: the lowest its peer dependencies accept.
   */
  tfjs: string;
}

/**
 * The `package.json` of the bundle: ESM only, types beside the code, no
 * runtime dependencies (comlink is bundled). TensorFlow.js is an optional
 * peer dependency: only the `./tfjs` entry imports it.
 *
 * @param source Name, version, licence, `@webgpu/types` and TensorFlow.js versions.
 * @returns The manifest as an object.
 *
 * @example
 * ```ts
 * import { packageManifest } from "./package_json.ts";
 * import { equal } from "node:assert/strict";
 *
 * const m = packageManifest({ name: "@jumpout/jumpout", version: "0.1.0", license: "MIT", webgpuTypes: "0.1.74", tfjs: "4.22.0" });
 * equal(m.type, "module");
 * equal((m.peerDependencies as Record<string, string>)["@tensorflow/tfjs-core"], "^4.22.0");
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
      "./tfjs": { types: "./tfjs.d.ts", default: "./tfjs.js" },
      "./package.json": "./package.json",
    },
    files: [
      "jumpout.js",
      "jumpout.js.map",
      "jumpout.worker.js",
      "jumpout.worker.js.map",
      "tfjs.js",
      "tfjs.js.map",
      "tfjs.d.ts",
      "chunks/",
      "jumpout.d.ts",
      "types/",
      "data/",
      "README.md",
      "LICENSE",
    ],
    keywords: ["dropout", "jumpout", "neural-network", "webgpu", "wasm"],
    engines: { node: ">=20" },
    peerDependencies: {
      "@webgpu/types": source.webgpuTypes,
      ...Object.fromEntries(TFJS_PEERS.map((p) => [p, `^${source.tfjs}`])),
    },
    peerDependenciesMeta: Object.fromEntries(
      ["@webgpu/types", ...TFJS_PEERS].map((p) => [p, { optional: true }]),
    ),
  };
}
