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
 * Plain-HTTP checks take a lean path by default: a raw HTTP/1.0 exchange on one socket (the
 * request keepalived's HTTP_GET sends), same rules, 4-7x less CPU per check than got, which
 * matters at thousands of checks per second (numbers: test/bench/health-bench.ts, the report).
 * `createHttpChecker({ lean: false })` sends plain HTTP through got too.
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

/** node:http request (lean path and http_proxy). */
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

/**
 * The lean plain-HTTP path: one TCP connection, `METHOD path HTTP/1.0` with Host and
 * Connection: close (keepalived's HTTP_GET request shape), read until Content-Length or close.
 * HTTP/1.0 means no chunked encoding and no keep-alive to undo. Same rules as the got path.
 */
function viaRawHttp10(target: CheckTarget, check: CheckConfig, deadline: Deadline, port: number, path: string, what: string): Promise<CheckResult> {
  return new Promise<CheckResult>((resolve) => {
    const host = check.virtualHost ?? `${hostForUrl(target.address, target.family)}:${port}`;
    const socket = net.connect({ host: target.address, port });
    const chunks: Buffer[] = [];
    let size = 0;
    let headerEnd = -1;
    let status = 0;
    let contentLength = -1;
    let settled = false;
    const finish = (r: CheckResult): void => {
      if (settled) return;
      settled = true;
      deadline.signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(r);
    };
    const onAbort = (): void => finish(deadline.fail(`${what}: ${deadline.reason()}`));
    deadline.signal.addEventListener('abort', onAbort, { once: true });
    const complete = (): void => {
      if (status === 0) {
        finish(deadline.fail(`${what}: ${size === 0 ? 'connection closed without a response' : 'malformed HTTP response'}`));
        return;
      }
      const all = Buffer.concat(chunks, size);
      const body = all.subarray(headerEnd, contentLength >= 0 ? headerEnd + contentLength : undefined).toString('utf8');
      finish(judge(status, body, target, check, deadline, what));
    };
    socket.on('connect', () => {
      socket.write(`${check.httpMethod} ${path} HTTP/1.0\r\nHost: ${host}\r\nUser-Agent: directord health check\r\nConnection: close\r\n\r\n`);
    });
    socket.on('data', (chunk: Buffer) => {
      if (size < MAX_BODY_BYTES) {
        chunks.push(chunk);
        size += chunk.length;
      }
      if (headerEnd < 0) {
        const all = chunks.length === 1 ? chunk : Buffer.concat(chunks, size);
        const end = all.indexOf('\r\n\r\n');
        if (end < 0) {
          if (size >= MAX_BODY_BYTES) finish(deadline.fail(`${what}: response headers too large`));
          return;
        }
        headerEnd = end + 4;
        const head = all.subarray(0, end).toString('latin1');
        const m = /^HTTP\/\d\.\d (\d{3})/.exec(head);
        if (!m) {
          finish(deadline.fail(`${what}: malformed status line ${JSON.stringify(head.split('\r\n')[0]?.slice(0, 60))}`));
          return;
        }
        status = Number(m[1]);
        const cl = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head);
        if (cl) contentLength = Number(cl[1]);
        if (check.httpMethod === 'HEAD' || status === 204 || status === 304) contentLength = 0;
      }
      if (contentLength >= 0 && size - headerEnd >= Math.min(contentLength, MAX_BODY_BYTES - headerEnd)) complete();
      else if (size >= MAX_BODY_BYTES) complete();
    });
    socket.on('end', complete);
    socket.on('error', (err: NodeJS.ErrnoException) => finish(deadline.fail(`${what}: ${err.code ?? err.message}`)));
  });
}

export interface HttpCheckerOptions {
  /**
   * Plain-HTTP checks over a raw HTTP/1.0 exchange instead of got (default true). Same rules;
   * measured 4-7x less CPU per check (test/bench/health-bench.ts). https always uses got.
   */
  readonly lean?: boolean;
}

/** The checker for service=http / https / http_proxy. */
export function createHttpChecker(options: HttpCheckerOptions = {}): Checker {
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
          if (scheme === 'http' && options.lean !== false) {
            const port = checkPortOf(target, check);
            if (port === undefined) return deadline.fail('no port to check (set checkport)');
            const path = requestPath(requestOf(target, check));
            const url = `http://${hostForUrl(target.address, target.family)}:${port}${path}`;
            return await viaRawHttp10(target, check, deadline, port, path, url);
          }
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
