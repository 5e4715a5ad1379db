/**
 * The one check of `AugmentOptions`, for `augmentImages`
 * and for the data-parallel trainer's `augment` option.
 *
 * @module
 */

import { showValue } from "../_checks.ts";
import type { AugmentOptions } from "./augment_options.ts";

/** The fields of `AugmentOptions`, as messages list them. */
const AUGMENT_KEYS = ["padding", "flip", "fill"] as const;

/**
 * Checks augmentation options, naming the bad field, and fills in the
 * defaults (padding 4, flip on, fill 0).
 *
 * @param what What the caller was doing, for messages.
 * @param prefix What messages put before a field's name, e.g. `augment.`.
 * @param o The options, an object (the caller checks that).
 * @param image The image's height and width (bounds of the padding).
 * @param otherKeys More fields the options object may have.
 * @returns The options with every default filled in.
 */
export function checkAugmentOptions(
  what: string,
  prefix: string,
  o: Record<string, unknown>,
  image: { height: number; width: number },
  otherKeys: readonly string[] = [],
): Required<AugmentOptions> {
  const fail = (Err: typeof RangeError, detail: string): never => {
    throw new Err(`Cannot ${what}: ${prefix}${detail}`);
  };
  for (const key of Object.keys(o)) {
    if (
      !(AUGMENT_KEYS as readonly string[]).includes(key) &&
      !otherKeys.includes(key)
    ) {
      fail(
        TypeError,
        `${key} is not an option (${
          [...AUGMENT_KEYS, ...otherKeys].join(", ")
        }), got ${showValue(o[key])}`,
      );
    }
  }
  const { padding = 4, flip = true, fill = 0 } = o as AugmentOptions;
  const most = Math.min(image.height, image.width);
  if (!Number.isSafeInteger(padding) || padding < 0 || padding > most) {
    fail(
      RangeError,
      `padding must be an integer in [0, ${most}] (the image's smaller side), got ${
        showValue(padding)
      }`,
    );
  }
  if (typeof flip !== "boolean") {
    fail(TypeError, `flip must be a boolean, got ${showValue(flip)}`);
  }
  if (typeof fill !== "number" || !Number.isFinite(fill)) {
    fail(
      RangeError,
      `fill must be a finite number, got ${showValue(fill)}`,
    );
  }
  return { padding, flip, fill };
}
