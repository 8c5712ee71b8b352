/**
 * Where the tests find the public data the repository carries: `data/` at its root (each file's
 * source, licence and users are in `data/README.md`). The one place that knows the folder, so a
 * test never reaches outside the checkout for a file.
 */

/** The data folder, as a URL ending in a slash. */
export const DATA_DIR = new URL('../../data/', import.meta.url);

/**
 * The URL of `path` inside the data folder; a folder path keeps its trailing slash.
 *
 * @example dataUrl('clinical/heart_cleveland.csv')
 * @example new URL('test_000.png', dataUrl('imaging/pneumoniamnist_test_png/'))
 */
export function dataUrl(path: string): URL {
  if (path.startsWith('/') || path.split('/').includes('..')) {
    throw new Error(`dataUrl takes a path inside data/, not "${path}"`);
  }
  return new URL(path, DATA_DIR);
}
