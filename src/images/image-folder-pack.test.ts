/**
 * A folder packed for upload (`galen datasets upload <folder>`) is the same archive whenever and in
 * whatever order its files are read, so uploading it again stores no new dataset version.
 */
import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { dataUrl } from '../../test/helpers/data.js';
import { describeImageArchive, packImageFolder } from './image-dataset.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('packImageFolder', () => {
  it('gives the same bytes for the same files, packed at another time and in another order', async () => {
    const png = (name: string): Promise<Buffer> =>
      readFile(dataUrl(`imaging/pneumoniamnist_test_png/${name}`));
    const files = {
      'labels.csv': Buffer.from('file,label\na.png,pneumonia\nb.png,normal\n'),
      'a.png': await png('test_000.png'),
      'b.png': await png('test_001.png'),
    };
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-01-05T10:00:00Z'));
    const first = packImageFolder(files);
    vi.setSystemTime(new Date('2027-06-30T23:59:58Z'));
    const reversed = Object.fromEntries(Object.entries(files).reverse());
    const second = packImageFolder(reversed);
    vi.useRealTimers();

    expect(Buffer.from(second).equals(Buffer.from(first))).toBe(true);
    const schema = await describeImageArchive(first, 'images');
    expect(schema).toMatchObject({ rows: 2, shape: [1, 28, 28], labels: { normal: 1, pneumonia: 1 } });
  });
});
