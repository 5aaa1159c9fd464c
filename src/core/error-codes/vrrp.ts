import { EXIT } from '../exit-status.js';
import type { ErrorCodeSpec } from './spec.js';

/** Codes raised by src/vrrp. Add new codes here; run `npm run docs:errors` afterwards. */
export const VRRP_CODES = {
  DIR_ERR_VRRP_UNAVAILABLE: {
    message: 'vrrp: {reason}',
    hint: 'see the log for the operation that failed',
    exitStatus: EXIT.FAILURE,
  },
  DIR_ERR_VRRP_MALFORMED: {
    message: 'malformed VRRP packet: {reason}',
    hint: 'a peer sent a packet that is not a VRRPv2/v3 advertisement (RFC 3768 5.1, RFC 5798 5.1); check for another VRRP implementation or a corrupted link',
    exitStatus: EXIT.FAILURE,
  },
  DIR_ERR_VRRP_ENCODE: {
    message: 'cannot encode VRRP advertisement: {reason}',
    hint: 'check the vrrp_instance (virtual_router_id 1..255, priority 0..255, advert_int, VIP family and count)',
    exitStatus: EXIT.FAILURE,
  },
  DIR_ERR_VRRP_STATE: {
    message: 'vrrp instance {instance}: {reason}',
    hint: 'this is an internal state-machine misuse; report it with the log',
    exitStatus: EXIT.FAILURE,
  },
} as const satisfies Record<string, ErrorCodeSpec>;
