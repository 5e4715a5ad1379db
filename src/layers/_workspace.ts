/**
 * Scratch tensors shared by every layer on a backend, one per role (such as
 * `"conv.cols"`): a layer that needs a big temporary only while one of its
 * calls runs takes it from here instead of keeping its own from step to step,
 * so a model holds one such tensor per role, the size of its largest user.
 *
 * The contract: a workspace is valid only until the next call for the same
 * role. A caller uses it within one synchronous call (the forward or the
 * backward of one layer) and never keeps it, nor anything it wrote there,
 * across calls. Layers that use workspaces claim them when built and end
 * their claim when disposed; the last claim's end frees them.
 *
 * @module
 */

import {
  type Backend,
  type DType,
  shapeSize,
  type Tensor,
} from "../backend.ts";
import { release } from "../_release.ts";

/** A backend's workspaces and how many layers claim them. */
interface Workspaces {
  /** The allocation behind each role. */
  readonly held: Map<string, Tensor>;
  /** Layers built on the backend that use workspaces and are not disposed. */
  claims: number;
}

const BY_BACKEND = new WeakMap<Backend, Workspaces>();

/** The backend's workspaces, made on first use. */
function workspacesOf(backend: Backend): Workspaces {
  let w = BY_BACKEND.get(backend);
  if (w === undefined) {
    w = { held: new Map(), claims: 0 };
    BY_BACKEND.set(backend, w);
  }
  return w;
}

/**
 * A tensor of `shape` to use as scratch within the current call: a view of
 * the first elements of the one allocation that `backend` holds for `role`.
 * That allocation grows (released, then allocated anew, uninitialised) to the
 * largest size asked for the role so far, and is made afresh when it was
 * released. What the view holds on return is unspecified.
 *
 * Valid only until the next call for the same role: use it within one
 * synchronous call and never keep it across calls. Calls for different roles
 * give tensors that do not share storage.
 *
 * @param backend Where the scratch lives.
 * @param role What the scratch is for, e.g. `"conv.cols"`; one dtype per role.
 * @param shape The dimensions wanted.
 * @param dtype Element type, `float32` unless given.
 * @returns A view of `role`'s allocation with `shape`.
 *
 * @example Two calls of one role share storage; another role does not
 * ```ts
 * import { createBackend } from "../../mod.ts";
 * import { workspace } from "./_workspace.ts";
 * import { equal, notEqual } from "node:assert/strict";
 *
 * const backend = await createBackend("reference");
 * const a = workspace(backend, "example.a", [4, 8]);
 * const b = workspace(backend, "example.a", [2, 3]);
 * equal(a.base, b.base);
 * notEqual(workspace(backend, "example.b", [2, 3]).base, a.base);
 * ```
 */
export function workspace<D extends DType = "float32">(
  backend: Backend,
  role: string,
  shape: readonly number[],
  dtype: D = "float32" as D,
): Tensor<D> {
  const { held } = workspacesOf(backend);
  const size = shapeSize(shape, `take the ${role} workspace`);
  let t = held.get(role) as Tensor<D> | undefined;
  if (
    t === undefined || t.released || t.dtype !== dtype || t.size < size
  ) {
    release(t);
    // Shared by every call for the role: no scope releases it.
    t = backend.keep(backend.allocate([size], dtype, "uninitialized"));
    held.set(role, t);
  }
  return backend.view(t, shape);
}

/**
 * Counts a layer as a user of `backend`'s workspaces, so that they stay
 * allocated between its calls; {@linkcode unclaimWorkspaces} ends the claim.
 *
 * @param backend The backend the layer is built on.
 *
 * @example The workspaces live while a layer claims them
 * ```ts
 * import { createBackend } from "../../mod.ts";
 * import { claimWorkspaces, unclaimWorkspaces, workspace } from "./_workspace.ts";
 * import { ok } from "node:assert/strict";
 *
 * const backend = await createBackend("reference");
 * claimWorkspaces(backend);
 * const cols = workspace(backend, "example.cols", [16]);
 * unclaimWorkspaces(backend);
 * ok(cols.released);
 * ```
 */
export function claimWorkspaces(backend: Backend): void {
  workspacesOf(backend).claims++;
}

/**
 * Ends a claim of {@linkcode claimWorkspaces}; when no claim is left, frees
 * every workspace of `backend` (a later call allocates afresh).
 *
 * @param backend The backend the layer was built on.
 */
export function unclaimWorkspaces(backend: Backend): void {
  const w = workspacesOf(backend);
  w.claims = Math.max(0, w.claims - 1);
  if (w.claims > 0) return;
  release(...w.held.values());
  w.held.clear();
}
