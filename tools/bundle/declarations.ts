/**
 * Type declarations for the bundles: TypeScript's compiler emits a `.d.ts`
 * beside each module reachable from `mod.ts` and `tfjs.ts`, with relative
 * imports rewritten from `.ts` to `.js`.
 *
 * @module
 */

import { join } from "node:path";

/**
 * Writes `<outDir>/types/**.d.ts`, `<outDir>/jumpout.d.ts`, which
 * re-exports the main entry's and pulls in `@webgpu/types` for the GPU types
 * the `webgpu` backend names, and `<outDir>/tfjs.d.ts`, the `./tfjs` entry's.
 *
 * @param root The repository's root directory.
 * @param outDir Where the bundle goes.
 * @param tsc The compiler to run, e.g. `npm:typescript@5.9.3/tsc`.
 * @throws {Error} When the compiler fails; the message holds its output.
 */
export async function writeDeclarations(
  root: string,
  outDir: string,
  tsc: string,
): Promise<void> {
  const typesDir = join(outDir, "types");
  const config = {
    compilerOptions: {
      declaration: true,
      emitDeclarationOnly: true,
      // The source is checked by `deno check`; the compiler only writes
      // declarations here, without Deno's globals in scope.
      noCheck: true,
      allowImportingTsExtensions: true,
      rewriteRelativeImportExtensions: true,
      module: "esnext",
      moduleResolution: "bundler",
      target: "es2022",
      lib: ["es2023", "dom", "dom.iterable"],
      types: [],
      skipLibCheck: true,
      rootDir: root,
      declarationDir: typesDir,
    },
    files: [join(root, "mod.ts"), join(root, "tfjs.ts")],
  };
  const configFile = await Deno.makeTempFile({ suffix: ".tsconfig.json" });
  try {
    await Deno.writeTextFile(configFile, JSON.stringify(config));
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", tsc, "-p", configFile],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (code !== 0) {
      const text = new TextDecoder().decode(stdout) +
        new TextDecoder().decode(stderr);
      throw new Error(
        `Cannot write type declarations: tsc must succeed, got exit code ${code}:\n${text}`,
      );
    }
  } finally {
    await Deno.remove(configFile);
  }
  await Deno.writeTextFile(
    join(outDir, "jumpout.d.ts"),
    [
      '/// <reference types="@webgpu/types" />',
      'export * from "./types/mod.js";',
      "",
    ].join("\n"),
  );
  await Deno.writeTextFile(
    join(outDir, "tfjs.d.ts"),
    'export * from "./types/tfjs.js";\n',
  );
}
