/**
 * negotiate, service=ldap / ldaps (ldirectord-spec 10.4, Net::LDAP in check_ldap): bind with
 * login and passwd if both are set, otherwise anonymously; then a base-scope search with the
 * request (leading "/" removed) as base DN and filter (objectClass=*). Up when exactly one entry
 * comes back and, if receive is set, its DN matches receive. ldaps is TLS from the first byte.
 *
 * A minimal LDAPv3 client (RFC 4511 4.2 BindRequest, 4.5 SearchRequest) with just enough BER
 * (X.690 definite lengths) to build those two requests and read the responses.
 */
import type { Checker } from '../../types.js';
import { ProtocolError, Session, checkPortOf, compileReceive, receiveMatches, guarded, receiveOf, requestOf, stripSlash, sessionTlsOf } from '../common.js';

function berLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), berLength(value.length), value]);
}

const int = (n: number): Buffer => tlv(0x02, n < 0x80 ? Buffer.from([n]) : Buffer.from([(n >> 8) & 0xff, n & 0xff]));
const octets = (s: string, tag = 0x04): Buffer => tlv(tag, Buffer.from(s, 'utf8'));
const enumerated = (n: number): Buffer => tlv(0x0a, Buffer.from([n]));
const bool = (b: boolean): Buffer => tlv(0x01, Buffer.from([b ? 0xff : 0]));
const seq = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items));

export function bindRequest(messageId: number, dn: string, password: string): Buffer {
  // [APPLICATION 0] { version 3, name, simple [0] password }
  return seq(int(messageId), tlv(0x60, Buffer.concat([int(3), octets(dn), octets(password, 0x80)])));
}

export function searchRequest(messageId: number, base: string): Buffer {
  // [APPLICATION 3] { base, scope baseObject(0), derefAliases never(0), sizeLimit 2, timeLimit 0,
  //   typesOnly TRUE, filter present [7] "objectClass", attributes { "1.1" } (no attributes) }
  const body = Buffer.concat([octets(base), enumerated(0), enumerated(0), int(2), int(0), bool(true), octets('objectClass', 0x87), seq(octets('1.1'))]);
  return seq(int(messageId), tlv(0x63, body));
}

interface Element {
  readonly tag: number;
  readonly value: Buffer;
}

/** Reads one TLV from the start of buf; undefined when incomplete. */
function readTlv(buf: Buffer): { element: Element; used: number } | undefined {
  if (buf.length < 2) return undefined;
  const tag = buf[0] ?? 0;
  let len = buf[1] ?? 0;
  let pos = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new ProtocolError('ldap: unsupported BER length');
    if (buf.length < 2 + n) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (buf[2 + i] ?? 0);
    pos = 2 + n;
  }
  if (buf.length < pos + len) return undefined;
  return { element: { tag, value: buf.subarray(pos, pos + len) }, used: pos + len };
}

function children(value: Buffer): Element[] {
  const out: Element[] = [];
  let rest = value;
  while (rest.length > 0) {
    const t = readTlv(rest);
    if (!t) throw new ProtocolError('ldap: truncated element');
    out.push(t.element);
    rest = rest.subarray(t.used);
  }
  return out;
}

/** Reads one LDAPMessage: messageID and protocolOp. */
async function readMessage(session: Session): Promise<{ id: number; op: Element }> {
  const message = await session.read((buf) => {
    const t = readTlv(buf);
    return t ? { used: t.used, value: t.element } : undefined;
  }, 'ldap response');
  const [idEl, op] = children(message.value);
  if (!idEl || !op) throw new ProtocolError('ldap: malformed message');
  return { id: idEl.value.readUIntBE(0, Math.min(idEl.value.length, 6) || 1), op };
}

/** resultCode and diagnosticMessage of an LDAPResult. */
function result(op: Element): { code: number; message: string } {
  const [code, , diag] = children(op.value);
  return { code: code?.value[0] ?? 255, message: diag?.value.toString('utf8') ?? '' };
}

export const ldapChecker: Checker = {
  run(target, check, signal) {
    // ldirectord wraps the whole LDAP check in alarm(checktimeout) (spec 10.4, PR #318).
    return guarded(signal, check.timeoutMs, async (deadline) => {
      const port = checkPortOf(target, check);
      if (port === undefined) return deadline.fail('no port to check');
      const receive = compileReceive(receiveOf(target, check));
      if (receive instanceof Error) return deadline.fail(receive.message);
      const secure = check.service === 'ldaps';
      const session = await Session.connect(target.address, port, deadline, secure ? await sessionTlsOf(check) : undefined);
      try {
        const simple = check.login !== '' && check.password !== '';
        session.write(bindRequest(1, simple ? check.login : '', simple ? check.password : ''));
        const bind = await readMessage(session);
        if (bind.op.tag !== 0x61) return deadline.fail(`ldap: unexpected reply to bind (tag ${bind.op.tag})`);
        const bound = result(bind.op);
        if (bound.code !== 0) return deadline.fail(`ldap bind ${simple ? `as ${check.login}` : 'anonymous'}: result ${bound.code} ${bound.message}`.trim());
        const base = stripSlash(requestOf(target, check));
        session.write(searchRequest(2, base));
        const dns: string[] = [];
        for (;;) {
          const msg = await readMessage(session);
          if (msg.op.tag === 0x64) {
            const [dn] = children(msg.op.value);
            dns.push(dn?.value.toString('utf8') ?? '');
          } else if (msg.op.tag === 0x65) {
            const done = result(msg.op);
            if (done.code !== 0 && dns.length === 0) return deadline.fail(`ldap search "${base}": result ${done.code} ${done.message}`.trim());
            break;
          }
          // 0x73 SearchResultReference and anything else: ignored.
        }
        session.write(seq(int(3), Buffer.from([0x42, 0x00]))); // UnbindRequest
        if (dns.length !== 1) return deadline.fail(`ldap search "${base}": ${dns.length} entries (expected exactly 1)`);
        const dn = dns[0] ?? '';
        if (receive && !receiveMatches(receive, dn)) return deadline.fail(`ldap: DN "${dn}" does not match receive /${receive.source}/`);
        return deadline.ok(`ldap ${simple ? `bind as ${check.login}` : 'anonymous bind'}, found "${dn}"`);
      } finally {
        session.close();
      }
    });
  },
};
