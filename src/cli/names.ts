/**
 * Local name tables for ipvsadm-style output without -n and for names in -t/-r arguments:
 * /etc/hosts and /etc/services only. ipvsadm's reverse DNS made `ipvsadm -L` hang for up to a
 * minute when the resolver was slow (seed-features 3.2); directorctl never queries DNS.
 */
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { tryParseIp } from '../core/ip.js';
import type { NameResolver } from './ipvsadm-format.js';
import type { AddressLookup } from './ipvsadm-args.js';

export interface LocalNames extends NameResolver, AddressLookup {}

/** Builds both directions from the text of a hosts file and a services file. */
export function parseNameTables(hostsText: string, servicesText: string): LocalNames {
  const hostByAddress = new Map<string, string>();
  const addressByHost = new Map<string, string>();
  for (const raw of hostsText.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    const [addr, ...names] = line.split(/\s+/);
    const ip = addr ? tryParseIp(addr) : undefined;
    if (!ip || names.length === 0) continue;
    // The first name on the first line for an address is its canonical name (gethostbyaddr).
    if (!hostByAddress.has(ip.text)) hostByAddress.set(ip.text, names[0] as string);
    for (const n of names) if (!addressByHost.has(n)) addressByHost.set(n, ip.text);
  }
  const serviceByPort = new Map<string, string>();
  const portByService = new Map<string, number>();
  for (const raw of servicesText.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    const [name, portProto, ...aliases] = line.split(/\s+/);
    const m = portProto ? /^(\d+)\/(tcp|udp)$/.exec(portProto) : null;
    if (!name || !m) continue;
    const key = `${m[1]}/${m[2]}`;
    if (!serviceByPort.has(key)) serviceByPort.set(key, name);
    for (const n of [name, ...aliases]) if (!portByService.has(`${n}/${m[2]}`)) portByService.set(`${n}/${m[2]}`, Number(m[1]));
  }
  return {
    host: (address) => hostByAddress.get(address),
    service: (port, protocol) => serviceByPort.get(`${port}/${protocol}`),
    address: (name) => addressByHost.get(name),
    port: (name, protocol) => portByService.get(`${name}/${protocol}`),
  };
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** The system's /etc/hosts and /etc/services (missing files are empty tables). */
export function loadLocalNames(hostsPath = '/etc/hosts', servicesPath = '/etc/services'): LocalNames {
  return parseNameTables(readOr(hostsPath), readOr(servicesPath));
}

/** Addresses configured on this host (plus loopback): IPVS shows reals on them as `Local`. */
export function localAddressPredicate(): (address: string) => boolean {
  const own = new Set<string>();
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) {
      const ip = tryParseIp(info.address.replace(/%.*$/, ''));
      if (ip) own.add(ip.text);
    }
  }
  return (address) => own.has(address) || address.startsWith('127.') || address === '::1';
}
