/**
 * Port and service-name tables.
 *
 * `portForServiceName` stands in for getservbyname(3) (ldirectord resolves `:http` in virtual=,
 * real= and fallback= through it; ldirectord-spec 4.1, 6.1, 7). The table holds the
 * /etc/services entries ldirectord users write; it is built in so that loading a config gives the
 * same answer on every host. `ldirectordServiceForPort` is ldirectord's own port → service= table
 * (ldirectord-spec 5.2) and `defaultPortForService` its reverse, used when a check needs a port.
 */
import type { ServiceName } from '../core/types.js';

/** Name → port, as in Debian's /etc/services (netbase); tcp and udp share the numbers listed. */
const SERVICE_PORTS: Readonly<Record<string, number>> = Object.freeze({
  tcpmux: 1, echo: 7, discard: 9, daytime: 13, ftp_data: 20, 'ftp-data': 20, ftp: 21, ssh: 22, telnet: 23,
  smtp: 25, time: 37, whois: 43, tacacs: 49, domain: 53, bootps: 67, bootpc: 68, tftp: 69, gopher: 70,
  finger: 79, http: 80, www: 80, kerberos: 88, pop3: 110, 'pop-3': 110, sunrpc: 111, auth: 113, nntp: 119,
  ntp: 123, epmap: 135, 'netbios-ns': 137, 'netbios-dgm': 138, 'netbios-ssn': 139, imap2: 143, imap: 143,
  snmp: 161, 'snmp-trap': 162, xdmcp: 177, bgp: 179, irc: 194, ldap: 389, https: 443, 'microsoft-ds': 445,
  kpasswd: 464, submissions: 465, ssmtp: 465, smtps: 465, syslog: 514, printer: 515, ipp: 631, submission: 587,
  ldaps: 636, rsync: 873, 'ftps-data': 989, ftps: 990, telnets: 992, imaps: 993, pop3s: 995, socks: 1080,
  openvpn: 1194, 'ms-sql-s': 1433, 'ms-sql-m': 1434, ingreslock: 1524, 'oracle': 1521, radius: 1812,
  'radius-acct': 1813, nfs: 2049, 'http-proxy': 3128, squid: 3128, mysql: 3306, 'ms-wbt-server': 3389,
  svn: 3690, sip: 5060, 'sip-tls': 5061, xmpp: 5222, 'xmpp-client': 5222, 'xmpp-server': 5269, postgresql: 5432,
  amqp: 5672, x11: 6000, 'http-alt': 8080, webcache: 8080, memcache: 11211, redis: 6379, dns: 53,
});

/** getservbyname equivalent: a decimal 0..65535 or a known service name. */
export function portForServiceName(text: string): number | undefined {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    return n <= 65535 ? n : undefined;
  }
  return Object.hasOwn(SERVICE_PORTS, text) ? SERVICE_PORTS[text] : undefined;
}

/** ldirectord-spec 5.2: the default service= for a virtual port. */
const PORT_SERVICE: ReadonlyMap<number, ServiceName> = new Map<number, ServiceName>([
  [21, 'ftp'], [25, 'smtp'], [53, 'dns'], [80, 'http'], [110, 'pop'], [119, 'nntp'], [143, 'imap'],
  [389, 'ldap'], [443, 'https'], [587, 'submission'], [636, 'ldaps'], [993, 'imaps'], [995, 'pops'],
  [1521, 'oracle'], [1812, 'radius'], [3128, 'http_proxy'], [3306, 'mysql'], [5060, 'sip'], [5432, 'pgsql'],
]);

export function ldirectordServiceForPort(port: number): ServiceName {
  return PORT_SERVICE.get(port) ?? 'none';
}

/** The reverse table: the port a check of this service uses when neither checkport nor the real's port is set. */
export function defaultPortForService(service: ServiceName): number | undefined {
  for (const [port, name] of PORT_SERVICE) if (name === service) return port;
  return undefined;
}
