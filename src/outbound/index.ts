/** Outbound HTTP: the one guarded client every request from Galen to elsewhere goes through. */
export { AddressPolicy } from './address-policy.js';
export type { AddressVerdict } from './address-policy.js';
export { DEFAULT_OUTBOUND, OutboundClient, OutboundError } from './guarded-client.js';
export type {
  OutboundFailure,
  OutboundFetch,
  OutboundRequest,
  OutboundResponse,
  OutboundSettings,
} from './guarded-client.js';
