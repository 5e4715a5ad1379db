/**
 * The bundles' stand-in for `src/_package_files.ts`: the worker entry and the
 * embedded data lie next to `jumpout.js`.
 *
 * @module
 */

/** The module a `DataParallel` worker runs, unless told otherwise. */
export const TRAINER_WORKER_URL: URL = new URL(
  "./jumpout.worker.js",
  import.meta.url,
);

/** The directory of the Fashion-MNIST subset that ships with the library. */
export const EMBEDDED_FASHION_MNIST_DIR: URL = new URL(
  "./data/fashion-mnist/",
  import.meta.url,
);
