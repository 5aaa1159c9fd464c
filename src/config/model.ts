/**
 * ClusterConfig: the one model both config formats (ldirectord.cf and director.toml) produce.
 *
 * Validation fills every default, so consumers never see `undefined` where a default exists;
 * optional fields are the ones whose absence means something ("no fallback", "no persistence").
 * Values are deep-frozen after validation. Durations are milliseconds. Directive names in the
 * comments are the ldirectord (L:) or keepalived (K:) words a field comes from.
 *
 * Other modules import these types only (import type); the director translates them into the
 * engine's and the health monitor's own models.
 */
import type { SourceLocation } from '../core/errors.js';
import type { Cidr, Endpoint, IpAddress, IpFamily } from '../core/ip.js';
import type {
  CheckType,
  EngineKind,
  ForwardMethod,
  SchedulerFlag,
  SchedulerName,
  ServiceName,
  ServiceProtocol,
  VrrpState,
} from '../core/types.js';

/** The whole configuration of one director. */
export interface ClusterConfig {
  /** Files this config was read from, main file first (includes follow). */
  readonly files: readonly string[];
  readonly daemon: DaemonSettings;
  readonly vrrp: VrrpSettings;
  readonly virtualServices: readonly VirtualServiceConfig[];
}

/** Process-wide settings (ldirectord globals that are not per-virtual defaults, plus directord's own). */
export interface DaemonSettings {
  /** Which forwarding engine to drive. Default 'embedded'. */
  readonly engine: EngineKind;
  /**
   * Relay threads of the embedded engine's native TCP data path (1..8; default 1). Read at start;
   * a reload does not change it.
   */
  readonly engineThreads?: number;
  /** Unix control socket path. Default /run/directord/directord.sock. */
  readonly controlSocket: string;
  /** Health/override state file. Default /var/lib/directord/state.json. */
  readonly stateFile: string;
  /** Pid file. Default /run/directord/directord.<config basename>.pid (ldirectord: /var/run/ldirectord.<name>.pid). */
  readonly pidFile: string;
  /** L: logfile. A path (starts with /), a syslog facility ("local0"), or undefined for stdout (journald). */
  readonly log: LogTarget;
  readonly logLevel: 'error' | 'warn' | 'info' | 'debug';
  /** L: autoreload, and how often the file is polled (ldirectord: every check round). */
  readonly autoreload: boolean;
  readonly autoreloadIntervalMs: number;
  /** L: callback "path": run as [path, configPath] (no shell) after an autoreload. */
  readonly callback?: string;
  /** L: supervised: stay in the foreground, log to stdout, no pid file. */
  readonly supervised: boolean;
  /** L: fork: accepted for compatibility; directord never needs a process per virtual. */
  readonly fork: boolean;
  /** L: maintenancedir: marker files that take reals out of service (ldirectord-spec 10.8). */
  readonly maintenanceDir?: string;
  /** L: readdquiescent. */
  readonly readdQuiescent: boolean;
  /** L: emailalertfrom. */
  readonly emailAlertFrom?: string;
  /** L: execute: other config files to run alongside (recorded; see the daemon for how they are run). */
  readonly execute: readonly string[];
  /** Where the Prometheus / JSON status / web page listener binds; undefined = off. */
  readonly httpListen?: Endpoint;
  /** Default drain deadline for `directorctl drain` and SIGTERM. */
  readonly drainDeadlineMs: number;
  /** Cron-scheduled jobs (node-cron expressions). */
  readonly schedules: readonly ScheduleConfig[];
}

/** Where logs go. */
export type LogTarget =
  | { readonly kind: 'stdout' }
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'syslog'; readonly facility: string };

/** A wall-clock job. */
export interface ScheduleConfig {
  readonly name: string;
  /** node-cron expression, e.g. "0 3 * * 0". */
  readonly cron: string;
  readonly action: 'drain' | 'enable' | 'disable' | 'reload' | 'snapshot';
  /** For drain/enable/disable: "VIRTUAL_ID/REAL_KEY" or "REAL_KEY" (all virtuals). */
  readonly target?: string;
  readonly location: SourceLocation;
}

/** One virtual service (L: a virtual= block; K: virtual_server). */
export interface VirtualServiceConfig {
  /**
   * Identity as ldirectord builds it (ldirectord-spec 4.3): `tcp:192.0.2.1:80`,
   * `udp:[2001:db8::1]:53`, `fwm:1`, `fwm6:1`.
   */
  readonly id: string;
  readonly location: SourceLocation;
  readonly protocol: ServiceProtocol;
  readonly family: IpFamily;
  /** Address and port for tcp/udp services; undefined for fwmark services. */
  readonly address?: IpAddress;
  /** Port (0 = all ports, for persistent services); 0 for fwmark services. */
  readonly port: number;
  /** Firewall mark for fwm services. */
  readonly fwmark?: number;
  /** L: scheduler (default wrr). */
  readonly scheduler: SchedulerName;
  /** L: schedflags (ipvsadm -b). */
  readonly schedulerFlags: readonly SchedulerFlag[];
  /** L: persistent + netmask (ipvsadm -p/-M). */
  readonly persistence?: PersistenceConfig;
  /** L: ops (one-packet scheduling, udp only). */
  readonly ops: boolean;
  /** Real servers in file order. */
  readonly reals: readonly RealServerConfig[];
  /** L: fallback / fallback6 (sorry server). */
  readonly fallback?: FallbackConfig;
  /** L: fallbackcommand: argv run with "start"/"stop" appended (ldirectord-spec 10.5); no shell. */
  readonly fallbackCommand?: readonly string[];
  /** The check applied to every real of this service. */
  readonly check: CheckConfig;
  /** L: quiescent (default no, as ldirectord's code does, ldirectord-spec 12). */
  readonly quiescent: boolean;
  /** L: cleanstop (default yes). */
  readonly cleanStop: boolean;
  readonly alerts: AlertConfig;
  /** L: servicename / comment / monitorfile. */
  readonly serviceName?: string;
  readonly comment?: string;
  readonly monitorFile?: string;
  /** K: quorum / hysteresis / quorum_up / quorum_down (keepalived-spec 4.3). */
  readonly quorum?: QuorumConfig;
  /** Weight ramp after a real recovers (HAProxy slowstart). 0 = off. */
  readonly slowStartMs: number;
  /** Pass the client address with the PROXY protocol (embedded engine only). */
  readonly proxyProtocol?: 'v1' | 'v2';
  /** L7 content switching rules (KTCPVS-style), tcp services with the embedded engine only. */
  readonly l7Rules: readonly L7RuleConfig[];
  /** IPVS-style connection timeouts (ipvsadm --set tcp tcpfin udp). */
  readonly timeouts: ConnectionTimeouts;
  /** On removal of a real: let its connections finish (IPVS default) or reset them. */
  readonly onRealRemoved: 'finish' | 'reset';
}

/** ipvsadm -p TIMEOUT -M NETMASK. */
export interface PersistenceConfig {
  readonly timeoutMs: number;
  /** Prefix length applied to the client address (IPv4 from a dotted netmask, IPv6 1..128). */
  readonly netmaskPrefixLength: number;
}

/** Connection-table idle timeouts (ipvsadm --set). */
export interface ConnectionTimeouts {
  readonly tcpMs: number;
  readonly tcpFinMs: number;
  readonly udpMs: number;
}

/** One real server (L: real= / real6=; ranges are expanded by the parser). */
export interface RealServerConfig {
  /** `192.0.2.10:80` or `[2001:db8::10]:80`: unique within its virtual. */
  readonly key: string;
  readonly location: SourceLocation;
  readonly address: IpAddress;
  /** Port; for gate/ipip without a port ldirectord uses the virtual's port. */
  readonly port: number;
  readonly forward: ForwardMethod;
  /** Weight 0..65535 (default 1). */
  readonly weight: number;
  /** ipvsadm -x / -y (0 = no limit). */
  readonly upperThreshold: number;
  readonly lowerThreshold: number;
  /**
   * Per-real request / receive overriding the virtual's (L: real=... "request", "receive").
   * A request with a scheme ("http://host/path") is a complete URL (ldirectord-spec 6.3); any
   * other request starts with "/".
   */
  readonly request?: string;
  readonly receive?: string;
}

/** The sorry server (L: fallback=). */
export interface FallbackConfig {
  readonly address: IpAddress;
  readonly port: number;
  readonly forward: ForwardMethod;
  readonly weight: number;
  readonly location: SourceLocation;
}

/** How reals of one virtual are checked. */
export interface CheckConfig {
  readonly type: CheckType;
  /** L: checktype=N: negotiate every Nth check, connect otherwise. */
  readonly negotiateEvery?: number;
  /** L: service (default from the port, ldirectord-spec 5.2). */
  readonly service: ServiceName;
  /** L: checkport. */
  readonly checkPort?: number;
  /**
   * L: request (default "/"), receive (regex source, default ""). A request with a scheme
   * ("http://www.example.com/" for http_proxy) is a complete URL; any other starts with "/".
   */
  readonly request: string;
  readonly receive: string;
  /** L: httpmethod. */
  readonly httpMethod: 'GET' | 'HEAD';
  /** L: virtualhost (Host header, and TLS SNI). */
  readonly virtualHost?: string;
  /** L: login, passwd, database, secret (never logged). */
  readonly login: string;
  readonly password: string;
  readonly database: string;
  readonly secret: string;
  /** L: checkcommand, split into argv (no shell). */
  readonly command: readonly string[];
  /** L: checkinterval. */
  readonly intervalMs: number;
  /** L: checktimeout (connect, external, ping). */
  readonly timeoutMs: number;
  /** L: negotiatetimeout. */
  readonly negotiateTimeoutMs: number;
  /** L: checkcount (ping attempts). */
  readonly checkCount: number;
  /** L: failurecount: consecutive failures before down (fall). */
  readonly failureCount: number;
  /** Consecutive successes before up (rise); ldirectord behaviour is 1. */
  readonly riseCount: number;
  /** Random spread added to each interval, to avoid thundering checks. */
  readonly jitterMs: number;
  /** Expected HTTP status codes (default 200-399 as ldirectord accepts any 2xx/3xx... see health). */
  readonly expectStatus?: readonly number[];
  /** TLS certificate verification for https checks (default on). */
  readonly tlsVerify: boolean;
  /** State a real starts in before its first check: 'down' = not sent traffic until checked. */
  readonly initialState: 'down' | 'up';
  /** ssh check settings. */
  readonly ssh?: SshCheckConfig;
  /** agent check port (HAProxy agent-check). */
  readonly agentPort?: number;
  /**
   * K: misc_dynamic (keepalived-spec 4.5), for external checks: exit 0 = up at the configured
   * weight, 1 = down, 2..255 = up with weight `status - 2`. Absent or false = ldirectord's rule
   * (any non-zero exit is down).
   */
  readonly dynamic?: boolean;
  /**
   * PEM file of the certificate authorities a TLS check (https, ldaps, imaps, pops) trusts
   * instead of the system store (K: SSL { ca }). Absolute (the TOML reader resolves it against
   * the config file's directory).
   */
  readonly caFile?: string;
}

/** ssh remote-command check. */
export interface SshCheckConfig {
  readonly user: string;
  readonly port: number;
  readonly privateKeyFile: string;
  readonly knownHostsFile: string;
  readonly command: string;
  /** Regex the command's stdout must match (optional). */
  readonly expectOutput?: string;
}

/** L: emailalert*, smtp. */
export interface AlertConfig {
  readonly emailTo: readonly string[];
  readonly emailFrequencyMs: number;
  readonly emailStatuses: readonly ('starting' | 'running' | 'stopping' | 'reloading')[];
  readonly smtpHost?: string;
}

/** keepalived quorum with hysteresis. */
export interface QuorumConfig {
  /** Minimum sum of weights of live reals. */
  readonly quorum: number;
  readonly hysteresis: number;
  readonly upCommand?: readonly string[];
  readonly downCommand?: readonly string[];
}

/** An L7 rule: requests whose path matches go to these reals (KTCPVS tcpvsadm --add-rule). */
export interface L7RuleConfig {
  /** Regex source matched against the request path. */
  readonly pattern: string;
  /** Real server keys this rule sends to. */
  readonly reals: readonly string[];
  readonly location: SourceLocation;
}

/** VRRP part of the config (K: vrrp_instance, vrrp_sync_group, vrrp_script). */
export interface VrrpSettings {
  readonly instances: readonly VrrpInstanceConfig[];
  readonly syncGroups: readonly VrrpSyncGroupConfig[];
  readonly scripts: readonly VrrpScriptConfig[];
}

/** K: vrrp_instance. */
export interface VrrpInstanceConfig {
  readonly name: string;
  readonly location: SourceLocation;
  /** K: version (default 2 for IPv4, 3 for IPv6). */
  readonly version: 2 | 3;
  readonly family: IpFamily;
  /** K: interface. */
  readonly interface: string;
  /** K: virtual_router_id 1..255. */
  readonly vrid: number;
  /** K: priority 1..255 (255 = address owner). */
  readonly priority: number;
  /** K: advert_int (default 1 s). */
  readonly advertIntervalMs: number;
  /** K: state (initial): BACKUP or MASTER. */
  readonly initialState: Extract<VrrpState, 'BACKUP' | 'MASTER'>;
  /** K: nopreempt inverts this (default true). */
  readonly preempt: boolean;
  /** K: preempt_delay. */
  readonly preemptDelayMs: number;
  /** K: virtual_ipaddress. */
  readonly virtualAddresses: readonly VirtualAddressConfig[];
  /** K: unicast_src_ip / unicast_peer (empty = multicast). */
  readonly unicastSource?: IpAddress;
  readonly unicastPeers: readonly IpAddress[];
  /** K: authentication { auth_type PASS; auth_pass } (VRRPv2 only). */
  readonly authPass?: string;
  /** K: garp_master_delay, garp_master_repeat, garp_master_refresh, garp_master_refresh_repeat, garp_interval / gna_interval. */
  readonly garp: GarpConfig;
  /** K: track_interface. */
  readonly trackInterfaces: readonly { readonly name: string; readonly weight: number }[];
  /** K: track_script (names of vrrp_script) with optional weight override. */
  readonly trackScripts: readonly { readonly name: string; readonly weight?: number }[];
  /** K: track_file. */
  readonly trackFiles: readonly { readonly path: string; readonly weight: number }[];
  /** K: notify_master/backup/fault/stop/notify, argv (no shell). */
  readonly notify: NotifyConfig;
  /** K: notify_fifo. */
  readonly notifyFifo?: string;
  /** Checksum form for VRRPv3 over IPv4 (keepalived-spec 1.1.3). */
  readonly v3ChecksumMode: 'keepalived' | 'rfc9568';
  /** K: accept / no_accept (v3; default accept as keepalived in non-strict mode). */
  readonly accept: boolean;
}

/** A VIP (K: virtual_ipaddress entry `ADDR/PREFIX dev DEV label LABEL`). */
export interface VirtualAddressConfig {
  readonly cidr: Cidr;
  /** The host address itself (Cidr.address is the network; this is the exact VIP). */
  readonly address: IpAddress;
  readonly prefixLength: number;
  readonly device?: string;
  readonly label?: string;
}

export interface GarpConfig {
  readonly masterDelayMs: number;
  readonly masterRepeat: number;
  readonly masterRefreshMs: number;
  readonly masterRefreshRepeat: number;
  readonly intervalMs: number;
}

export interface NotifyConfig {
  readonly master?: readonly string[];
  readonly backup?: readonly string[];
  readonly fault?: readonly string[];
  readonly stop?: readonly string[];
  readonly any?: readonly string[];
}

/** K: vrrp_sync_group. */
export interface VrrpSyncGroupConfig {
  readonly name: string;
  readonly instances: readonly string[];
  readonly notify: NotifyConfig;
  readonly location: SourceLocation;
}

/** K: vrrp_script. */
export interface VrrpScriptConfig {
  readonly name: string;
  readonly command: readonly string[];
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly rise: number;
  readonly fall: number;
  /** Positive: added while OK; negative: added while failing; 0: failing = FAULT. */
  readonly weight: number;
  readonly location: SourceLocation;
}
