/**
 * Domain vocabulary shared by every module: protocols, forwarding methods, schedulers, states.
 * Names follow ldirectord's config words (gate|masq|ipip) and ipvsadm's scheduler names.
 */

/** Transport protocol of a real connection. */
export type Protocol = 'tcp' | 'udp';

/** Protocol of a virtual service: an address service (tcp/udp) or a firewall-mark service. */
export type ServiceProtocol = Protocol | 'fwm';

/**
 * How packets reach a real server (ldirectord `real=` flag; ipvsadm -g/-m/-i).
 * gate = direct routing (ipvsadm "Route"), masq = NAT ("Masq"), ipip = tunnelling ("Tunnel").
 * The embedded userspace engine always proxies (NAT-like); it reports the configured method.
 */
export type ForwardMethod = 'gate' | 'masq' | 'ipip';

/** ipvsadm's name for a forwarding method, as `ipvsadm -L -n` prints it. */
export const FORWARD_METHOD_IPVS_NAME: Readonly<Record<ForwardMethod, string>> = Object.freeze({
  gate: 'Route',
  masq: 'Masq',
  ipip: 'Tunnel',
});

/** Every IPVS scheduler (ipvsadm(8) -s). */
export const SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'sed', 'nq', 'sh', 'dh', 'lblc', 'lblcr', 'mh', 'fo', 'ovf'] as const;
export type SchedulerName = (typeof SCHEDULERS)[number];

/** Scheduler flags (ipvsadm -b): sh-fallback, sh-port, mh-fallback, mh-port (and flag-1..3 aliases). */
export const SCHEDULER_FLAGS = ['sh-fallback', 'sh-port', 'mh-fallback', 'mh-port'] as const;
export type SchedulerFlag = (typeof SCHEDULER_FLAGS)[number];

/** VRRP instance states (RFC 5798 6.4 plus keepalived's FAULT). */
export type VrrpState = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT';

/** Health of one (virtual, real) pair as the director sees it. */
export type HealthStatus = 'unknown' | 'up' | 'down';

/** ldirectord `service=` values (ldirectord-spec section 5.2). */
export const SERVICES = [
  'dns', 'ftp', 'http', 'https', 'http_proxy', 'imap', 'imaps', 'ldap', 'ldaps', 'mysql', 'nntp', 'none',
  'oracle', 'pgsql', 'pop', 'pops', 'radius', 'simpletcp', 'sip', 'smtp', 'submission',
] as const;
export type ServiceName = (typeof SERVICES)[number];

/** Check types: ldirectord's checktype= words, plus directord's ssh and agent checks. */
export const CHECK_TYPES = ['connect', 'negotiate', 'external', 'external-perl', 'ping', 'on', 'off', 'combined', 'ssh', 'agent'] as const;
export type CheckType = (typeof CHECK_TYPES)[number];

/** Which forwarding engine a director drives. */
export const ENGINE_KINDS = ['embedded', 'nftables', 'ipvs'] as const;
export type EngineKind = (typeof ENGINE_KINDS)[number];
