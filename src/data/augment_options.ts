/**
 * The options of image augmentation: how far the random crop may shift the
 * image, whether it may be flipped, and what fills the border.
 *
 * @module
 */

/**
 * Random crop of the padded image and random horizontal flip, as residual
 * networks train on CIFAR and Fashion-MNIST: each image is padded with
 * `padding` pixels of `fill` on every side, cropped back to its size at an
 * offset uniform in `[-padding, padding]²`, and flipped left-right with
 * probability 1/2 when `flip` is on.
 */
export interface AugmentOptions {
  /**
   * Pixels of padding on each side: the crop's offset is uniform over
   * `[-padding, padding]` in each direction. An integer from 0 to the
   * image's smaller side; default 4.
   */
  padding?: number;
  /** Whether each image is flipped left-right with probability 1/2. Default true. */
  flip?: boolean;
  /**
   * The value of pixels from outside the image. Default 0, which is the mean
   * of standardised inputs; pass the standardised black,
   * `-mean / std`, to pad with black as when padding the raw image.
   */
  fill?: number;
}
