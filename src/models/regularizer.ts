/**
 * The regulariser a model builder puts inside each residual block.
 *
 * @module
 */

import type { LayerSpec } from "../io/model_spec.ts";

/**
 * What goes where a block regularises: nothing, dropout at rate 0.3 (Wide
 * ResNet's), Jumpout with its defaults, or any layer spec.
 */
export type Regularizer = "none" | "dropout" | "jumpout" | LayerSpec;

/** Dropout's rate for `regularizer: "dropout"`: Wide ResNet's choice. */
export const DEFAULT_DROPOUT_RATE = 0.3;
