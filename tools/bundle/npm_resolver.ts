/**
 * An esbuild plugin that resolves the bare imports of `deno.json`'s import
 * map (`"comlink": "npm:comlink@4.4.2"`) to the package's ES module in Deno's
 * npm cache, so esbuild bundles exactly the version Deno runs.
 *
 * @module
 */

import type { Plugin } from "esbuild";
import { join } from "node:path";

/** What the plugin needs to know: the import map and where Deno keeps npm packages. */
export interface NpmResolverOptions {
  /** `deno.json`'s `imports`. */
  imports: Record<string, string>;
  /** Deno's npm cache (`deno info --json`'s `npmCache`). */
  npmCache: string;
}

/**
 * The plugin.
 *
 * @param options The import map and the npm cache.
 * @returns An esbuild plugin named `deno-npm`.
 *
 * @example Resolve comlink through a made-up cache
 * ```ts
 * import { npmResolver } from "./npm_resolver.ts";
 * import { equal } from "node:assert/strict";
 *
 * const plugin = npmResolver({ imports: { comlink: "npm:comlink@4.4.2" }, npmCache: "/cache" });
 * equal(plugin.name, "deno-npm");
 * ```
 */
export function npmResolver(options: NpmResolverOptions): Plugin {
  const { imports, npmCache } = options;
  return {
    name: "deno-npm",
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.path.startsWith("node:")) return undefined;
        // `name/sub/path` is a file of the package `name` maps to.
        const name = packageName(args.path);
        const target = imports[name];
        if (target === undefined || !target.startsWith("npm:")) {
          return {
            errors: [{
              text:
                `Cannot bundle: import "${args.path}" must be an npm: entry of deno.json's imports, got ${
                  target ?? "no entry"
                }`,
            }],
          };
        }
        const file = args.path.slice(name.length + 1);
        return { path: await moduleEntry(npmCache, target, file) };
      });
    },
  };
}

/** The package an import names: `comlink/dist/x.mjs` names `comlink`, `@a/b/c` names `@a/b`. */
function packageName(path: string): string {
  const parts = path.split("/");
  return parts.slice(0, path.startsWith("@") ? 2 : 1).join("/");
}

/**
 * The ES module entry of an `npm:name@version` specifier in the cache, or
 * one of the package's files.
 *
 * @param npmCache Deno's npm cache.
 * @param specifier `npm:name@version`, the name possibly scoped.
 * @param file A file in the package (`dist/esm/node-adapter.mjs`); empty
 *   for the package's entry.
 * @returns The file's path.
 */
export async function moduleEntry(
  npmCache: string,
  specifier: string,
  file = "",
): Promise<string> {
  const match = /^npm:((?:@[^/@]+\/)?[^/@]+)@([^/]+)$/.exec(specifier);
  if (match === null) {
    throw new Error(
      `Cannot bundle: an npm import must be npm:name@version, got ${specifier}`,
    );
  }
  const [, name, version] = match;
  const dir = join(npmCache, "registry.npmjs.org", name, version);
  if (file !== "") return join(dir, file);
  const manifest = JSON.parse(
    await Deno.readTextFile(join(dir, "package.json")),
  );
  const entry = manifest.module ?? manifest.main;
  if (typeof entry !== "string") {
    throw new Error(
      `Cannot bundle: package ${name}@${version} must name a module or main entry, got neither`,
    );
  }
  return join(dir, entry);
}

/**
 * Makes sure Deno has fetched the npm packages that `entries` import, and
 * returns its npm cache directory.
 *
 * @param root The repository's root directory (with `deno.json`).
 * @param entries Modules, relative to `root`, whose npm imports a bundle needs.
 * @returns Deno's npm cache directory.
 * @throws {Error} When `deno cache` or `deno info` fails.
 */
export async function ensureNpmPackages(
  root: string,
  entries: string[],
): Promise<string> {
  const run = async (args: string[]): Promise<string> => {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args,
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (code !== 0) {
      throw new Error(
        `Cannot bundle: deno ${
          args.join(" ")
        } must succeed, got exit code ${code}: ${
          new TextDecoder().decode(stderr)
        }`,
      );
    }
    return new TextDecoder().decode(stdout);
  };
  await run(["cache", ...entries]);
  return JSON.parse(await run(["info", "--json"])).npmCache;
}
