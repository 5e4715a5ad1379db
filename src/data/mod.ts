/**
 * Data: IDX files, the Fashion-MNIST loader and image augmentation.
 *
 * @module
 */

export * from "./idx.ts";
export * from "./fashion_mnist.ts";
export * from "./augment.ts";
export * from "./augment_options.ts";
