/**
 * Hostile / crafted VRRP advert injector (keepalived-spec 8.1 "an injector is needed for negative
 * tests"). Runs inside a namespace and sends adverts through the project's own addon with every
 * field controllable: TTL, version, VRID, priority, interval, auth, checksum, type, VIP list.
 *
 * Usage: node --import tsx test/netns/inject.ts '{"iface":"eth0","ttl":64,"prio":254,...}'
 * Prints one line: {"sent":N}.
 */
import { loadAddon } from '../../src/sys/rawnet.js';
import { encodeVrrp, passwordAuthData } from '../../src/vrrp/codec.js';

interface InjectSpec {
  iface: string;
  src: string;
  dst?: string;
  ttl?: number;
  vrid?: number;
  prio?: number;
  /** seconds (v2) */
  interval?: number;
  version?: 2 | 3;
  authType?: number;
  authPass?: string;
  vips?: string[];
  badChecksum?: boolean;
  type?: number;
  count?: number;
}

const spec = JSON.parse(process.argv[2] ?? '{}') as InjectSpec;
const a = loadAddon();
const c = a.constants as Record<string, number>;
const k = (n: string) => c[n] as number;
const fd = a.socket(k('AF_INET'), k('SOCK_RAW'), 112);
a.bindToDevice(fd, spec.iface);
const ttl = spec.ttl ?? 255;
a.setsockopt(fd, k('IPPROTO_IP'), k('IP_TTL'), ttl);
a.setsockopt(fd, k('IPPROTO_IP'), k('IP_MULTICAST_TTL'), ttl);
a.setsockopt(fd, k('IPPROTO_IP'), k('IP_TOS'), 0xc0);
const dst = spec.dst ?? '224.0.0.18';
const version = spec.version ?? 2;
const payload = encodeVrrp(
  {
    version,
    type: spec.type ?? 1,
    vrid: spec.vrid ?? 51,
    priority: spec.prio ?? 254,
    ...(version === 2 ? { authType: spec.authType ?? 0 } : {}),
    ...(spec.authPass !== undefined ? { authData: passwordAuthData(spec.authPass) } : {}),
    advertIntervalCs: Math.round((spec.interval ?? 1) * 100),
    addresses: spec.vips ?? ['10.9.0.50'],
  },
  { family: 4, source: spec.src, destination: dst },
);
if (spec.badChecksum) payload.writeUInt16BE(payload.readUInt16BE(6) ^ 0x5a5a, 6);
let sent = 0;
for (let i = 0; i < (spec.count ?? 3); i++) {
  a.sendTo(fd, payload, dst, 0, spec.src);
  sent++;
}
a.close(fd);
process.stdout.write(`${JSON.stringify({ sent })}\n`);
