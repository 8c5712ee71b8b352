import { describe, expect, it } from 'vitest';
import { orderBands, parseNumber } from './index.js';

describe('parseNumber', () => {
  it.each([
    ['63', 63],
    ['63.0', 63],
    ['-0.25', -0.25],
    ['+4', 4],
    ['.5', 0.5],
    ['5.', 5],
    ['1e-5', 1e-5],
    ['2.5E3', 2500],
    ['007', 7],
  ])('reads %j as %d', (text, value) => {
    expect(parseNumber(text)).toBe(value);
  });

  it.each([
    '',
    ' 5',
    '5 ',
    '1,5',
    '1 000',
    '0x1F',
    '1e',
    'e5',
    '.',
    '-',
    'Infinity',
    'NaN',
    '1e999',
    '5%',
    '12/3',
  ])('refuses %j', (text) => {
    expect(parseNumber(text)).toBeUndefined();
  });
});

describe('orderBands', () => {
  it('orders [a-b) bands by lower bound, not alphabetically', () => {
    expect(orderBands(['[70-80)', '[0-10)', '[90-100)', '[10-20)', '[100-110)'])).toEqual([
      '[0-10)',
      '[10-20)',
      '[70-80)',
      '[90-100)',
      '[100-110)',
    ]);
  });

  it('places open-ended bands at the ends', () => {
    expect(orderBands(['>200', '[30-200)', '<30'])).toEqual(['<30', '[30-200)', '>200']);
    expect(orderBands(['≥65', '<=17', '18-64'])).toEqual(['<=17', '18-64', '≥65']);
    expect(orderBands(['>=200', '>200', '[100-200)'])).toEqual(['[100-200)', '>=200', '>200']);
  });

  it('reads pandas cut intervals with commas, decimals and negative bounds', () => {
    expect(orderBands(['(0.5, 1.5]', '(-1.0, 0.5]', '(1.5, 3.0]'])).toEqual([
      '(-1.0, 0.5]',
      '(0.5, 1.5]',
      '(1.5, 3.0]',
    ]);
  });

  it('orders plain numbers among bands, like a count with a "5+" top band', () => {
    expect(orderBands(['2', '0', '5+', '1'])).toEqual(['0', '1', '2', '5+']);
  });

  it('is undefined unless every value is a band and one of them is a range', () => {
    expect(orderBands(['1', '2', '3'])).toBeUndefined();
    expect(orderBands(['[70-80)', 'unknown'])).toBeUndefined();
    expect(orderBands(['[80-70)'])).toBeUndefined();
    expect(orderBands(['2012-04-26'])).toBeUndefined();
  });
});
