/**
 * negotiate, service=mysql (ldirectord-spec 10.4: DBI mysql with login/passwd/database, run the
 * request as SQL, up when it returns at least one row). A minimal client for the MySQL/MariaDB
 * client/server protocol: Handshake v10 → HandshakeResponse41 with mysql_native_password or
 * caching_sha2_password (fast path; the full path needs TLS or RSA and is reported as such),
 * AuthSwitchRequest handled, then COM_QUERY and the text result set counted row by row.
 *
 * Differences from ldirectord, on purpose: a timeout applies (negotiatetimeout; ldirectord's SQL
 * checks have none, spec 15), and an empty request (the default "/") means "authenticate only"
 * instead of a logged error and down. A missing login is still down, as in ldirectord.
 */
import { createHash } from 'node:crypto';
import type { Checker } from '../../types.js';
import { ProtocolError, Session, checkPortOf, guarded, requestOf, stripSlash } from '../common.js';

const CLIENT_LONG_PASSWORD = 0x1;
const CLIENT_CONNECT_WITH_DB = 0x8;
const CLIENT_PROTOCOL_41 = 0x200;
const CLIENT_TRANSACTIONS = 0x2000;
const CLIENT_SECURE_CONNECTION = 0x8000;
const CLIENT_PLUGIN_AUTH = 0x80000;

const sha1 = (...parts: Buffer[]): Buffer => parts.reduce((h, p) => h.update(p), createHash('sha1')).digest();
const sha256 = (...parts: Buffer[]): Buffer => parts.reduce((h, p) => h.update(p), createHash('sha256')).digest();

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] ?? 0) ^ (b[i % b.length] ?? 0);
  return out;
}

/** mysql_native_password: SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw))). */
export function nativePasswordScramble(password: string, scramble: Buffer): Buffer {
  if (password === '') return Buffer.alloc(0);
  const stage1 = sha1(Buffer.from(password, 'utf8'));
  return xor(stage1, sha1(scramble, sha1(stage1)));
}

/** caching_sha2_password: SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) + scramble). */
export function cachingSha2Scramble(password: string, scramble: Buffer): Buffer {
  if (password === '') return Buffer.alloc(0);
  const stage1 = sha256(Buffer.from(password, 'utf8'));
  return xor(stage1, sha256(sha256(stage1), scramble));
}

function scrambleFor(plugin: string, password: string, scramble: Buffer): Buffer {
  if (plugin === 'caching_sha2_password') return cachingSha2Scramble(password, scramble);
  if (plugin === 'mysql_native_password' || plugin === '') return nativePasswordScramble(password, scramble);
  throw new ProtocolError(`mysql: authentication plugin ${plugin} is not supported`);
}

class Packets {
  seq = 0;
  constructor(private readonly session: Session) {}

  async read(what: string): Promise<Buffer> {
    const header = await this.session.readBytes(4, what);
    const len = header.readUIntLE(0, 3);
    this.seq = ((header[3] ?? 0) + 1) & 0xff;
    return this.session.readBytes(len, what);
  }

  write(payload: Buffer): void {
    const header = Buffer.alloc(4);
    header.writeUIntLE(payload.length, 0, 3);
    header[3] = this.seq;
    this.seq = (this.seq + 1) & 0xff;
    this.session.write(Buffer.concat([header, payload]));
  }
}

function errorText(packet: Buffer): string {
  // ERR: 0xff, code (2), '#' + sqlstate (5), message.
  const code = packet.readUInt16LE(1);
  const msg = packet.subarray(packet[3] === 0x23 ? 9 : 3).toString('utf8');
  return `error ${code}: ${msg}`;
}

function cstring(buf: Buffer, offset: number): { value: string; next: number } {
  const end = buf.indexOf(0, offset);
  const stop = end < 0 ? buf.length : end;
  return { value: buf.subarray(offset, stop).toString('utf8'), next: stop + 1 };
}

export const mysqlChecker: Checker = {
  run(target, check, signal) {
    return guarded(signal, check.negotiateTimeoutMs, async (deadline) => {
      const port = checkPortOf(target, check);
      if (port === undefined) return deadline.fail('no port to check');
      if (check.login === '') return deadline.fail('mysql check needs login (ldirectord: login is required)');
      const session = await Session.connect(target.address, port, deadline);
      try {
        const io = new Packets(session);
        const hello = await io.read('handshake');
        if (hello[0] === 0xff) return deadline.fail(`mysql: ${errorText(hello)}`);
        if (hello[0] !== 10) return deadline.fail(`mysql: unsupported protocol version ${hello[0]}`);
        const version = cstring(hello, 1);
        let pos = version.next + 4; // connection id
        const part1 = hello.subarray(pos, pos + 8);
        pos += 8 + 1;
        const capsLow = hello.readUInt16LE(pos);
        pos += 2 + 1 + 2; // charset, status
        const capsHigh = hello.readUInt16LE(pos);
        pos += 2;
        const authLen = hello[pos] ?? 0;
        pos += 1 + 10;
        const serverCaps = capsLow | (capsHigh << 16);
        const part2Len = Math.max(13, authLen - 8);
        const part2 = hello.subarray(pos, pos + part2Len);
        pos += part2Len;
        const plugin = serverCaps & CLIENT_PLUGIN_AUTH ? cstring(hello, pos).value : 'mysql_native_password';
        let scramble: Buffer = Buffer.concat([part1, part2.subarray(0, 12)]);
        const useDb = check.database !== '';
        const caps = CLIENT_LONG_PASSWORD | CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH | (useDb ? CLIENT_CONNECT_WITH_DB : 0);
        const auth = scrambleFor(plugin, check.password, scramble);
        const head = Buffer.alloc(32);
        head.writeUInt32LE(caps >>> 0, 0);
        head.writeUInt32LE(16 * 1024 * 1024, 4);
        head[8] = 33; // utf8_general_ci
        io.write(
          Buffer.concat([
            head,
            Buffer.from(`${check.login}\0`, 'utf8'),
            Buffer.from([auth.length]),
            auth,
            useDb ? Buffer.from(`${check.database}\0`, 'utf8') : Buffer.alloc(0),
            Buffer.from(`${plugin}\0`, 'utf8'),
          ]),
        );
        let currentPlugin = plugin;
        for (;;) {
          const reply = await io.read('authentication');
          if (reply[0] === 0x00) break;
          if (reply[0] === 0xff) return deadline.fail(`mysql login as ${check.login}: ${errorText(reply)}`);
          if (reply[0] === 0xfe) {
            // AuthSwitchRequest: plugin name, then new scramble data.
            const name = cstring(reply, 1);
            currentPlugin = name.value;
            scramble = reply.subarray(name.next, name.next + 20);
            io.write(scrambleFor(currentPlugin, check.password, scramble));
            continue;
          }
          if (reply[0] === 0x01 && currentPlugin === 'caching_sha2_password') {
            if (reply[1] === 0x03) continue; // fast auth success; OK follows
            return deadline.fail('mysql: caching_sha2_password full authentication needs TLS; use mysql_native_password for the check user');
          }
          return deadline.fail(`mysql: unexpected authentication reply 0x${(reply[0] ?? 0).toString(16)}`);
        }
        const sql = stripSlash(requestOf(target, check));
        if (sql === '') return deadline.ok(`mysql login as ${check.login} ok (${version.value})`);
        io.seq = 0;
        io.write(Buffer.concat([Buffer.from([0x03]), Buffer.from(sql, 'utf8')]));
        const first = await io.read('query');
        if (first[0] === 0xff) return deadline.fail(`mysql query: ${errorText(first)}`);
        if (first[0] === 0x00) return deadline.fail('mysql query returned no result set (0 rows)');
        // Column count, column definitions, EOF, rows, EOF (no CLIENT_DEPRECATE_EOF).
        const isEof = (p: Buffer): boolean => p[0] === 0xfe && p.length < 9;
        for (;;) {
          const p = await io.read('columns');
          if (isEof(p)) break;
        }
        let rows = 0;
        for (;;) {
          const p = await io.read('rows');
          if (isEof(p)) break;
          if (p[0] === 0xff) return deadline.fail(`mysql query: ${errorText(p)}`);
          rows++;
        }
        io.seq = 0;
        io.write(Buffer.from([0x01])); // COM_QUIT
        if (rows < 1) return deadline.fail('mysql query returned 0 rows');
        return deadline.ok(`mysql query returned ${rows} row(s)`);
      } finally {
        session.close();
      }
    });
  },
};
