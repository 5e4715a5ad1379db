/**
 * `deno task serve`: builds the bundles with the demo, then serves the demo
 * page (`web/` at `/`, the bundles in `dist/` at `/dist/`) on localhost.
 *
 * ```sh
 * deno task serve [--port 8000] [--hostname 127.0.0.1] [--no-isolation]
 * ```
 *
 * The page is cross-origin isolated (so workers share memory) unless
 * `--no-isolation` leaves out the headers that make it so; the trainer then
 * moves gradients in transferred buffers. `--port 0` picks a free port.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { bundle } from "./bundle.ts";
import { exitOnError } from "../cli/_exit_on_error.ts";

/** The repository's root directory. */
const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** Content types by file extension; anything else is served as bytes. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".ts": "text/plain; charset=utf-8",
  ".md": "text/plain; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".wasm": "application/wasm",
  // Served as the bytes they are: with `Content-Encoding: gzip` the browser
  // would unpack them, and the library, which unpacks them itself, would
  // then get plain files named `.gz`.
  ".gz": "application/octet-stream",
};

/** The headers that make a page cross-origin isolated. */
const ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
  "Cross-Origin-Resource-Policy": "same-origin",
};

/** Options of {@linkcode startServer}. */
export interface ServerOptions {
  /** The port; 0 picks a free one. Default 8000. */
  port?: number;
  /** The address to listen on. Default `127.0.0.1` (a secure context for WebGPU). */
  hostname?: string;
  /** Send the cross-origin isolation headers. Default true. */
  isolation?: boolean;
  /** The page's directory, served at `/`. Default `web/` of the repository. */
  webDir?: string;
  /** The bundles' directory, served at `/dist/`. Default `dist/` of the repository. */
  distDir?: string;
}

/** A running server. */
export interface DemoServer {
  /** The page's address, e.g. `http://127.0.0.1:8000/`. */
  url: string;
  /** Stops listening, waits for open requests, and resolves once closed. */
  shutdown(): Promise<void>;
}

/**
 * Serves the demo page and the bundles. Only GET and HEAD; only files inside
 * the two directories (no `..`, no encoded slashes, no links leading out);
 * a directory serves its `index.html`. Every response has
 * `Cache-Control: no-store`, so a rebuilt bundle is always the one loaded.
 *
 * @param options Port, address, isolation and directories.
 * @returns The server, listening.
 * @throws {Error} When the port cannot be bound.
 *
 * @example Serve a page from a temporary directory on a free port
 * ```ts
 * import { startServer } from "./serve.ts";
 * import { equal } from "node:assert/strict";
 *
 * const webDir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${webDir}/index.html`, "<!doctype html><p>hi</p>");
 * const server = await startServer({ port: 0, webDir, distDir: webDir });
 * try {
 *   const response = await fetch(server.url);
 *   equal(await response.text(), "<!doctype html><p>hi</p>");
 *   equal(response.headers.get("content-type"), "text/html; charset=utf-8");
 *   equal(response.headers.get("cross-origin-embedder-policy"), "require-corp");
 *   const outside = await fetch(new URL("/dist/..%2f..%2fetc/passwd", server.url));
 *   equal(outside.status, 404);
 *   await outside.body?.cancel();
 * } finally {
 *   await server.shutdown();
 *   await Deno.remove(webDir, { recursive: true });
 * }
 * ```
 */
export async function startServer(
  options: ServerOptions = {},
): Promise<DemoServer> {
  const port = options.port ?? 8000;
  if (!(Number.isSafeInteger(port) && port >= 0 && port <= 65535)) {
    throw new RangeError(
      `Cannot start the server: port must be an integer in [0, 65535], got ${port}`,
    );
  }
  const hostname = options.hostname ?? "127.0.0.1";
  const isolation = options.isolation ?? true;
  const roots = {
    web: await Deno.realPath(resolve(options.webDir ?? join(ROOT, "web"))),
    dist: await Deno.realPath(resolve(options.distDir ?? join(ROOT, "dist"))),
  };
  const listening = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve(
    { port, hostname, onListen: (addr) => listening.resolve(addr) },
    (request) => respond(request, roots, isolation),
  );
  const addr = await listening.promise;
  const host = addr.hostname.includes(":")
    ? `[${addr.hostname}]`
    : addr.hostname;
  return {
    url: `http://${host}:${addr.port}/`,
    shutdown: () => server.shutdown(),
  };
}

/** Answers one request from the two directories. */
async function respond(
  request: Request,
  roots: { web: string; dist: string },
  isolation: boolean,
): Promise<Response> {
  const headers = new Headers({
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    ...(isolation ? ISOLATION_HEADERS : {}),
  });
  const reply = (status: number, text: string) => {
    headers.set("Content-Type", "text/plain; charset=utf-8");
    return new Response(request.method === "HEAD" ? null : text, {
      status,
      headers,
    });
  };
  if (request.method !== "GET" && request.method !== "HEAD") {
    headers.set("Allow", "GET, HEAD");
    return reply(405, "Method not allowed\n");
  }
  const file = await locate(new URL(request.url).pathname, roots);
  if (file === undefined) return reply(404, "Not found\n");
  const dot = file.lastIndexOf(".");
  headers.set(
    "Content-Type",
    CONTENT_TYPES[file.slice(dot).toLowerCase()] ?? "application/octet-stream",
  );
  const body = request.method === "HEAD" ? null : await Deno.readFile(file);
  return new Response(body, { status: 200, headers });
}

/**
 * The file a URL path names, or `undefined` when it names none inside the
 * directory it maps to (missing, or reaching outside through `..`, an
 * encoded separator, or a link).
 */
async function locate(
  pathname: string,
  roots: { web: string; dist: string },
): Promise<string | undefined> {
  let segments: string[];
  try {
    segments = pathname.split("/").slice(1).map(decodeURIComponent);
  } catch {
    return undefined;
  }
  const inDist = segments[0] === "dist";
  const root = inDist ? roots.dist : roots.web;
  if (inDist) segments = segments.slice(1);
  const unsafe = segments.some((s) =>
    s === "." || s === ".." || /[\\/\0]/.test(s)
  );
  if (unsafe) return undefined;
  let path = join(root, ...segments);
  try {
    if ((await Deno.stat(path)).isDirectory) path = join(path, "index.html");
    const real = await Deno.realPath(path);
    if (!real.startsWith(root + sep)) return undefined;
    return (await Deno.stat(real)).isFile ? real : undefined;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

if (import.meta.main) {
  exitOnError("serve");
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string", default: "8000" },
      hostname: { type: "string", default: "127.0.0.1" },
      "no-isolation": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
      debug: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(
      "Usage: deno task serve [--port 8000] [--hostname 127.0.0.1] [--no-isolation] [--debug]\n\n" +
        "Builds dist/ with the demo, then serves web/ at / and dist/ at /dist/.\n" +
        "--port 0 picks a free port; --no-isolation leaves out the\n" +
        "cross-origin isolation headers (workers then transfer gradients);\n" +
        "--debug shows an error's stack trace.",
    );
    Deno.exit(0);
  }
  const port = Number(values.port);
  if (!(Number.isSafeInteger(port) && port >= 0 && port <= 65535)) {
    console.error(
      `Cannot serve: --port must be an integer in [0, 65535], got ${values.port}`,
    );
    Deno.exit(2);
  }
  console.log("Building dist/ with the demo…");
  await bundle({ demo: true });
  const isolation = !values["no-isolation"];
  const { url } = await startServer({
    port,
    hostname: values.hostname,
    isolation,
  });
  console.log(
    `Serving the demo at ${url} (${
      isolation ? "cross-origin isolated" : "not isolated"
    }); Ctrl-C stops.`,
  );
}
