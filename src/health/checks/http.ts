/**
 * negotiate for service=http, https and http_proxy (ldirectord-spec 10.4), through got.
 *
 * - URL `<scheme>://<rip>:<checkport>/<request without leading />` (IPv6 in brackets).
 * - httpmethod GET or HEAD; `virtualhost` is the Host header and, for https, the TLS SNI name.
 * - Up when the status is 2xx (ldirectord uses LWP's is_success), or in CheckConfig.expectStatus
 *   when that is set, and, when receive is set, the body matches the receive regex.
 * - Redirects are NOT followed (ldirectord/LWP follows them; a health check that follows a
 *   redirect checks some other server: traefik#5147). A 3xx is therefore down unless listed in
 *   expectStatus.
 * - TLS certificates are verified by default (CheckConfig.tlsVerify), against CheckConfig.caFile
 *   when set (instead of the system store); the host name is verified
 *   only against `virtualhost` when it is set. Reals are addressed by IP, and verifying an IP
 *   against a certificate's names is what broke ldirectord's https checks (spec 15, issue #361).
 * - No retries, no keep-alive (each check opens a fresh connection as ldirectord does); per-phase
 *   timeouts: connect within checktimeout, the whole exchange within negotiatetimeout.
 *
 * http_proxy: the real is used as an HTTP proxy; the request must be an absolute URL and is sent
 * as the request target, without a Host header of ours (ldirectord-spec 10.4). got cannot send an
 * absolute-form target, so that one path uses node:http directly.
 *
 * Plain http normally goes to lean-http.ts (see checks/index.ts and negotiate.ts), which costs
 * far less CPU per check; this checker serves https, http_proxy, and plain http through got
 * (the fallback, and `leanHttp: false`).
 */
import http from 'node:http';
import net from 'node:net';
import https from 'node:https';
import got, { type Method } from 'got';
import type { CheckConfig } from '../../config/model.js';
import type { CheckResult, CheckTarget, Checker } from '../types.js';
import { Deadline, checkPortOf, compileReceive, receiveMatches, describeError, guarded, hostForUrl, readCaFile, receiveOf, requestOf } from './common.js';

/** Bodies above this are cut before the receive match (a health page is small). */
const MAX_BODY_BYTES = 1024 * 1024;

const plainAgent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
const tlsAgent = new https.Agent({ keepAlive: false, maxSockets: Infinity });

/** Is this status a success? expectStatus if given, else 2xx (LWP is_success). */
export function statusAccepted(status: number, check: CheckConfig): boolean {
  if (check.expectStatus && check.expectStatus.length > 0) return check.expectStatus.includes(status);
  return status >= 200 && status <= 299;
}

/** The request path ldirectord builds: always starts with one "/". */
export function requestPath(request: string): string {
  return request.startsWith('/') ? request : `/${request}`;
}

function judge(status: number, body: string, target: CheckTarget, check: CheckConfig, deadline: Deadline, what: string): CheckResult {
  if (!statusAccepted(status, check)) return deadline.fail(`${what}: HTTP ${status} (expected ${check.expectStatus?.join(',') ?? '2xx'})`);
  const receive = compileReceive(receiveOf(target, check));
  if (receive instanceof Error) return deadline.fail(receive.message);
  if (receive && check.httpMethod !== 'HEAD' && !receiveMatches(receive, body)) {
    return deadline.fail(`${what}: HTTP ${status} but body does not match receive /${receive.source}/`);
  }
  return deadline.ok(`${what}: HTTP ${status} in ${deadline.elapsed()} ms`);
}

async function viaGot(target: CheckTarget, check: CheckConfig, deadline: Deadline, scheme: 'http' | 'https'): Promise<CheckResult> {
  const port = checkPortOf(target, check);
  if (port === undefined) return deadline.fail('no port to check (set checkport)');
  const path = requestPath(requestOf(target, check));
  const url = `${scheme}://${hostForUrl(target.address, target.family)}:${port}${path}`;
  const virtualHost = check.virtualHost;
  // ca_file replaces the system store (K: SSL { ca }); read before the request so a missing file is the detail.
  const ca = scheme === 'https' && check.caFile !== undefined ? await readCaFile(check.caFile) : undefined;
  const response = await got(url, {
    method: check.httpMethod as Method,
    followRedirect: false,
    throwHttpErrors: false,
    retry: { limit: 0 },
    decompress: false,
    signal: deadline.signal,
    timeout: {
      connect: Math.min(check.timeoutMs, check.negotiateTimeoutMs),
      request: check.negotiateTimeoutMs,
    },
    headers: {
      'user-agent': 'directord health check',
      ...(virtualHost !== undefined ? { host: virtualHost } : {}),
    },
    agent: scheme === 'https' ? { https: tlsAgent } : { http: plainAgent },
    https: {
      rejectUnauthorized: check.tlsVerify,
      ...(ca !== undefined ? { certificateAuthority: ca } : {}),
      // With a virtualhost: SNI and name verification against it; without: chain only.
      ...(virtualHost !== undefined ? { serverName: virtualHost } : { checkServerIdentity: () => undefined }),
    },
  });
  const body = typeof response.body === 'string' ? response.body.slice(0, MAX_BODY_BYTES) : '';
  return judge(response.statusCode, body, target, check, deadline, url);
}

/** node:http request (http_proxy: got cannot send an absolute-form request target). */
function viaNodeHttp(
  target: CheckTarget,
  check: CheckConfig,
  deadline: Deadline,
  requestTarget: string,
  hostHeader: string | undefined,
  what: string,
): Promise<CheckResult> {
  const port = checkPortOf(target, check);
  if (port === undefined) return Promise.resolve(deadline.fail('no port to check (set checkport)'));
  return new Promise<CheckResult>((resolve) => {
    let settled = false;
    const finish = (r: CheckResult): void => {
      if (settled) return;
      settled = true;
      resolve(r);
    };
    const req = http.request(
      {
        host: target.address,
        port,
        family: target.family,
        method: check.httpMethod,
        path: requestTarget,
        agent: plainAgent,
        signal: deadline.signal,
        setHost: hostHeader === undefined,
        headers: { 'user-agent': 'directord health check', ...(hostHeader !== undefined ? { host: hostHeader } : {}), connection: 'close' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < MAX_BODY_BYTES) chunks.push(c);
          size += c.length;
        });
        res.on('end', () => finish(judge(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'), target, check, deadline, what)));
        res.on('error', (err) => finish(deadline.fail(`${what}: ${deadline.signal.aborted ? deadline.reason() : describeError(err)}`)));
      },
    );
    req.on('error', (err) => finish(deadline.fail(`${what}: ${deadline.signal.aborted ? deadline.reason() : describeError(err)}`)));
    req.end();
  });
}

/** The checker for service=http / https / http_proxy. */
export function createHttpChecker(): Checker {
  return {
    run(target, check, signal) {
      return guarded(signal, check.negotiateTimeoutMs, async (deadline) => {
        try {
          if (check.service === 'http_proxy') {
            // The request must be an absolute URL; ldirectord sends no Host header of its own.
            const absolute = requestOf(target, check).replace(/^\/(?=[a-z][a-z0-9+.-]*:\/\/)/i, '');
            if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(absolute)) return deadline.fail(`http_proxy request must be an absolute URL, got ${absolute}`);
            const host = new URL(absolute).host;
            return await viaNodeHttp(target, check, deadline, absolute, host, `proxy ${absolute}`);
          }
          const scheme = check.service === 'https' ? 'https' : 'http';
          return await viaGot(target, check, deadline, scheme);
        } catch (err) {
          if (deadline.signal.aborted) return deadline.fail(deadline.reason());
          const code = (err as NodeJS.ErrnoException).code;
          return deadline.fail(code ? `${code} ${(err as Error).message}` : describeError(err));
        }
      });
    },
  };
}

export const httpChecker: Checker = createHttpChecker();
