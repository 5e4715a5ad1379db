/**
 * Data: IDX files and the Fashion-MNIST loader.
 *
 * @module
 */

export * from "./idx.ts";
export * from "./fashion_mnist.ts";
