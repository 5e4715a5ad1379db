/**
 * The metadata a data-parallel trainer adds to its checkpoints.
 *
 * @module
 */

/**
 * Ties a checkpoint to its trainer's setup: JSON
 * `{ layers, inputShape, optimizer }`, and `augment` when augmentation is on.
 */
export const SETUP_KEY = "dataParallel.setup";

/** The seed of the masks, which a resumed run must keep. */
export const SEED_KEY = "dataParallel.seed";
