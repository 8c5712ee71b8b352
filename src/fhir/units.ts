/** UCUM unit conversion (the one owner of @lhncbc/ucum-lhc): a quantity in the unit a model was trained on. */
import ucum from '@lhncbc/ucum-lhc';

const utils = ucum.UcumLhcUtils.getInstance();

/** Whether `unit` is a valid UCUM code. */
export function isUcumUnit(unit: string): boolean {
  return utils.validateUnitString(unit).status === 'valid';
}

/** `value` in `from` expressed in `to`, or undefined when the units do not convert (e.g. kg to mm[Hg]). */
export function convertUnit(value: number, from: string, to: string): number | undefined {
  if (from === to) return value;
  const result = utils.convertUnitTo(from, value, to);
  return result.status === 'succeeded' && typeof result.toVal === 'number' ? result.toVal : undefined;
}
