/**
 * Where the files that ship beside the code are: the trainer worker's entry
 * and the embedded data. Resolved from this module's URL, so a remote import
 * finds them too; the bundles replace this module with one that points next
 * to the bundle (`tools/bundle/package_files.ts`).
 *
 * @module
 */

/** The module a `DataParallel` worker runs, unless told otherwise. */
export const TRAINER_WORKER_URL: URL = new URL(
  "../workers/trainer_worker.ts",
  import.meta.url,
);

/** The directory of the Fashion-MNIST subset that ships with the library. */
export const EMBEDDED_FASHION_MNIST_DIR: URL = new URL(
  "../data/fashion-mnist/",
  import.meta.url,
);
