/**
 * `deno task bundle`: the library as files a browser, a bundler or Node loads
 * with no setup, in `dist/` (which is also the npm package):
 *
 * - `jumpout.js`: the library, one ES module (comlink, the wasm kernels and
 *   the WGSL shaders included);
 * - `jumpout.worker.js`: the trainer worker, which `DataParallel` starts by
 *   default from next to `jumpout.js`;
 * - `tfjs.js`: the `./tfjs` entry, Jumpout as a TensorFlow.js layer, built on
 *   its own so that `jumpout.js` stays as it is; TensorFlow.js is imported,
 *   not bundled (a peer dependency);
 * - `chunks/`: the library code both share;
 * - `data/fashion-mnist/`: the embedded subset, fetched from next to it;
 * - `jumpout.d.ts` and `types/`: type declarations;
 * - `package.json`, `README.md`, `LICENSE`;
 * - with `--demo`: `demo.js`, the page in `web/`, importing `./jumpout.js`.
 *
 * Built with esbuild rather than `deno bundle`: a plugin swaps the module that
 * locates the worker and the data for one that points next to the bundle, and
 * the demo is bundled against the library bundle as an external import.
 *
 * @module
 */

import * as esbuild from "esbuild";
import { parseArgs } from "node:util";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureNpmPackages, npmResolver } from "./bundle/npm_resolver.ts";
import { writeDeclarations } from "./bundle/declarations.ts";
import { packageManifest } from "./bundle/package_json.ts";

/** The repository's root directory. */
const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** What {@linkcode bundle} builds. */
export interface BundleOptions {
  /** Where to write; default `dist` under the repository's root. */
  outDir?: string;
  /** Also bundle the demo page's script (`web/app.ts`) as `demo.js`. */
  demo?: boolean;
  /** Write type declarations (default true; they take a few seconds). */
  types?: boolean;
}

/** What {@linkcode bundle} wrote. */
export interface BundleResult {
  /** The output directory, absolute. */
  outDir: string;
  /** Every file written, relative to `outDir`, with its size in bytes. */
  files: { path: string; bytes: number }[];
}

/**
 * Builds the bundles.
 *
 * @param options Where to, and what.
 * @returns What was written.
 * @throws {Error} When esbuild or the compiler reports an error.
 *
 * @example Bundle without types into a temporary directory
 * ```ts ignore
 * import { bundle } from "./bundle.ts";
 *
 * const { files } = await bundle({ outDir: await Deno.makeTempDir(), types: false });
 * console.log(files.map((f) => f.path));
 * ```
 */
export async function bundle(
  options: BundleOptions = {},
): Promise<BundleResult> {
  const outDir = resolve(ROOT, options.outDir ?? "dist");
  // The directory is emptied first: never the repository or a folder above it.
  const asDir = (path: string) => path.replace(/\/*$/, "/");
  if (asDir(ROOT).startsWith(asDir(outDir))) {
    throw new RangeError(
      `Cannot bundle: outDir must not hold the repository, got ${outDir}`,
    );
  }
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  const imports: Record<string, string> = config.imports;
  const npmCache = await ensureNpmPackages(ROOT, [
    "mod.ts",
    "workers/trainer_worker.ts",
  ]);
  await Deno.remove(outDir, { recursive: true }).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
  await Deno.mkdir(outDir, { recursive: true });

  const common: esbuild.BuildOptions = {
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    sourcemap: "linked",
    outdir: outDir,
    absWorkingDir: ROOT,
    logLevel: "silent",
  };
  try {
    await esbuild.build({
      ...common,
      entryPoints: {
        "jumpout": join(ROOT, "mod.ts"),
        "jumpout.worker": join(ROOT, "workers/trainer_worker.ts"),
      },
      // The page and its workers share one chunk of library code, so a
      // browser downloads and compiles it once.
      splitting: true,
      chunkNames: "chunks/[name]-[hash]",
      plugins: [packageFiles(), npmResolver({ imports, npmCache })],
    });
    await esbuild.build({
      ...common,
      entryPoints: { "tfjs": join(ROOT, "tfjs.ts") },
      plugins: [peerImports(), npmResolver({ imports, npmCache })],
    });
    if (options.demo) {
      await esbuild.build({
        ...common,
        entryPoints: { "demo": join(ROOT, "web/app.ts") },
        plugins: [
          libraryAsExternal(),
          packageFiles(),
          npmResolver({ imports, npmCache }),
        ],
      });
    }
  } finally {
    await esbuild.stop();
  }

  await copyDir(
    join(ROOT, "data/fashion-mnist"),
    join(outDir, "data/fashion-mnist"),
  );
  if (options.types ?? true) {
    await writeDeclarations(ROOT, outDir, `${imports.typescript}/tsc`);
  }
  await Deno.writeTextFile(
    join(outDir, "package.json"),
    JSON.stringify(
      packageManifest({
        name: config.name,
        version: config.version,
        license: config.license,
        webgpuTypes: imports["@webgpu/types"].replace(
          /^npm:@webgpu\/types@/,
          "",
        ),
        tfjs: imports["@tensorflow/tfjs-core"].replace(
          /^npm:@tensorflow\/tfjs-core@/,
          "",
        ),
      }),
      null,
      2,
    ) + "\n",
  );
  await Deno.copyFile(join(ROOT, "README.md"), join(outDir, "README.md"));
  await Deno.copyFile(join(ROOT, "LICENSE"), join(outDir, "LICENSE"));
  return { outDir, files: await listFiles(outDir) };
}

/** Swaps `src/_package_files.ts` for the bundles' version of it. */
function packageFiles(): esbuild.Plugin {
  const original = join(ROOT, "src/_package_files.ts");
  const replacement = join(ROOT, "tools/bundle/package_files.ts");
  return {
    name: "package-files",
    setup(build) {
      build.onResolve(
        { filter: /_package_files\.ts$/ },
        (args) =>
          resolve(args.resolveDir, args.path) === original
            ? { path: replacement }
            : undefined,
      );
    },
  };
}

/** Leaves TensorFlow.js's packages as imports: the user installs them. */
function peerImports(): esbuild.Plugin {
  return {
    name: "peer-imports",
    setup(build) {
      build.onResolve(
        { filter: /^@tensorflow\// },
        (args) => ({ path: args.path, external: true }),
      );
    },
  };
}

/** Makes the demo import the library bundle (`./jumpout.js`) instead of the source. */
function libraryAsExternal(): esbuild.Plugin {
  const library = join(ROOT, "mod.ts");
  return {
    name: "library-as-external",
    setup(build) {
      build.onResolve(
        { filter: /mod\.ts$/ },
        (args) =>
          resolve(args.resolveDir, args.path) === library
            ? { path: "./jumpout.js", external: true }
            : undefined,
      );
    },
  };
}

/** Copies the files of a directory (not recursive). */
async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (entry.isFile) {
      await Deno.copyFile(join(from, entry.name), join(to, entry.name));
    }
  }
}

/** Every file under a directory, relative, with sizes, sorted. */
async function listFiles(
  dir: string,
  prefix = "",
): Promise<BundleResult["files"]> {
  const out: BundleResult["files"] = [];
  for await (const entry of Deno.readDir(join(dir, prefix))) {
    const path = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory) out.push(...await listFiles(dir, path));
    else out.push({ path, bytes: (await Deno.stat(join(dir, path))).size });
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      out: { type: "string", default: "dist" },
      demo: { type: "boolean", default: false },
      "no-types": { type: "boolean", default: false },
    },
  });
  const { outDir, files } = await bundle({
    outDir: values.out,
    demo: values.demo,
    types: !values["no-types"],
  });
  const top = files.filter((f) => !f.path.includes("/"));
  for (const f of top) {
    console.log(
      `${f.path.padEnd(26)} ${(f.bytes / 1024).toFixed(1).padStart(8)} KiB`,
    );
  }
  console.log(`${files.length} files in ${dirname(join(outDir, "x"))}`);
}
