/**
 * checktype=negotiate (ldirectord-spec 10.3/10.4): the service-specific check, chosen by
 * CheckConfig.service. service=none does no I/O and is always up (ldirectord declares every real
 * up; with the default negotiate any virtual on an unlisted port gets service none, spec 5.2).
 */
import type { ServiceName } from '../../core/types.js';
import type { Checker } from '../types.js';
import { httpChecker } from './http.js';
import { createLeanHttpChecker } from './lean-http.js';
import { dnsChecker } from './negotiate/dns.js';
import { ftpChecker } from './negotiate/ftp.js';
import { ldapChecker } from './negotiate/ldap.js';
import { imapChecker, popChecker } from './negotiate/mailbox.js';
import { mysqlChecker } from './negotiate/mysql.js';
import { nntpChecker } from './negotiate/nntp.js';
import { oracleChecker } from './negotiate/oracle.js';
import { pgsqlChecker } from './negotiate/pgsql.js';
import { radiusChecker } from './negotiate/radius.js';
import { simpletcpChecker } from './negotiate/simpletcp.js';
import { sipChecker } from './negotiate/sip.js';
import { smtpChecker } from './negotiate/smtp.js';

const noneChecker: Checker = {
  run: () => Promise.resolve({ ok: true, detail: 'service=none: no check, always up (ldirectord)', durationMs: 0 }),
};

/** Plain http on the lean raw HTTP/1.0 path (lean-http.ts); anything else it hands to http.ts. */
const leanHttpChecker: Checker = createLeanHttpChecker(httpChecker);

/** Builds the negotiate dispatcher; `http` may be replaced (e.g. by the got-based checker). */
export function createNegotiateChecker(overrides: Partial<Record<ServiceName, Checker>> = {}): Checker {
  const table: Record<ServiceName, Checker> = {
    http: leanHttpChecker,
    https: httpChecker,
    http_proxy: httpChecker,
    ftp: ftpChecker,
    smtp: smtpChecker,
    submission: smtpChecker,
    pop: popChecker,
    pops: popChecker,
    imap: imapChecker,
    imaps: imapChecker,
    nntp: nntpChecker,
    ldap: ldapChecker,
    ldaps: ldapChecker,
    dns: dnsChecker,
    mysql: mysqlChecker,
    pgsql: pgsqlChecker,
    oracle: oracleChecker,
    radius: radiusChecker,
    sip: sipChecker,
    simpletcp: simpletcpChecker,
    none: noneChecker,
    ...overrides,
  };
  return {
    run(target, check, signal) {
      return table[check.service].run(target, check, signal);
    },
  };
}

export const negotiateChecker: Checker = createNegotiateChecker();
