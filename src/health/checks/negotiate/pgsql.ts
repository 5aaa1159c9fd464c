/**
 * negotiate, service=pgsql (ldirectord-spec 10.4: DBI Pg with login/passwd/database, run the
 * request as SQL, up when it returns at least one row). A minimal PostgreSQL frontend/backend
 * protocol 3.0 client: StartupMessage, authentication (trust, cleartext, MD5, SCRAM-SHA-256 per
 * RFC 5802/7677 with the server signature verified), simple Query, DataRows counted.
 *
 * As for mysql: negotiatetimeout bounds it (ldirectord has none), an empty request means
 * "authenticate only", a missing login is down.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import type { Checker } from '../../types.js';
import { ProtocolError, Session, checkPortOf, guarded, requestOf, stripSlash } from '../common.js';

function message(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

async function readMessage(session: Session): Promise<{ type: string; body: Buffer }> {
  const head = await session.readBytes(5, 'pgsql message');
  const len = head.readInt32BE(1);
  if (len < 4 || len > 1 << 24) throw new ProtocolError('pgsql: bad message length');
  const body = await session.readBytes(len - 4, 'pgsql message');
  return { type: String.fromCharCode(head[0] ?? 0), body };
}

/** The M (message) field of an ErrorResponse. */
function errorMessage(body: Buffer): string {
  let pos = 0;
  while (pos < body.length && body[pos] !== 0) {
    const field = String.fromCharCode(body[pos] ?? 0);
    const end = body.indexOf(0, pos + 1);
    const value = body.subarray(pos + 1, end).toString('utf8');
    if (field === 'M') return value;
    pos = end + 1;
  }
  return 'unknown error';
}

const hmac = (key: Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();

/** SCRAM-SHA-256 exchange state (RFC 5802 3). */
export class Scram {
  readonly nonce = randomBytes(18).toString('base64');
  readonly clientFirstBare: string;
  private serverSignature?: Buffer;

  constructor(private readonly password: string) {
    this.clientFirstBare = `n=,r=${this.nonce}`;
  }

  clientFirst(): string {
    return `n,,${this.clientFirstBare}`;
  }

  clientFinal(serverFirst: string): string {
    const attrs = new Map(serverFirst.split(',').map((kv) => [kv.slice(0, 1), kv.slice(2)] as const));
    const r = attrs.get('r');
    const s = attrs.get('s');
    const i = Number(attrs.get('i'));
    if (!r || !s || !Number.isInteger(i) || i < 1 || !r.startsWith(this.nonce)) throw new ProtocolError('pgsql: bad SCRAM server-first message');
    const salted = pbkdf2Sync(this.password.normalize('NFKC'), Buffer.from(s, 'base64'), i, 32, 'sha256');
    const clientKey = hmac(salted, 'Client Key');
    const storedKey = createHash('sha256').update(clientKey).digest();
    const withoutProof = `c=biws,r=${r}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const signature = hmac(storedKey, authMessage);
    const proof = Buffer.alloc(32);
    for (let k = 0; k < 32; k++) proof[k] = (clientKey[k] ?? 0) ^ (signature[k] ?? 0);
    this.serverSignature = hmac(hmac(salted, 'Server Key'), authMessage);
    return `${withoutProof},p=${proof.toString('base64')}`;
  }

  verifyServerFinal(serverFinal: string): boolean {
    const v = /(?:^|,)v=([^,]+)/.exec(serverFinal)?.[1];
    return v !== undefined && this.serverSignature !== undefined && Buffer.from(v, 'base64').equals(this.serverSignature);
  }
}

export const pgsqlChecker: Checker = {
  run(target, check, signal) {
    return guarded(signal, check.negotiateTimeoutMs, async (deadline) => {
      const port = checkPortOf(target, check);
      if (port === undefined) return deadline.fail('no port to check');
      if (check.login === '') return deadline.fail('pgsql check needs login (ldirectord: login is required)');
      const session = await Session.connect(target.address, port, deadline);
      try {
        const params = Buffer.from(`user\0${check.login}\0database\0${check.database || check.login}\0application_name\0directord-check\0\0`, 'utf8');
        const startup = Buffer.alloc(8);
        startup.writeInt32BE(params.length + 8, 0);
        startup.writeInt32BE(196608, 4); // protocol 3.0
        session.write(Buffer.concat([startup, params]));
        let scram: Scram | undefined;
        for (;;) {
          const m = await readMessage(session);
          if (m.type === 'E') return deadline.fail(`pgsql login as ${check.login}: ${errorMessage(m.body)}`);
          if (m.type === 'Z') break;
          if (m.type !== 'R') continue; // ParameterStatus, BackendKeyData, NoticeResponse
          const code = m.body.readInt32BE(0);
          if (code === 0) continue;
          if (code === 3) session.write(message('p', Buffer.from(`${check.password}\0`, 'utf8')));
          else if (code === 5) {
            const inner = createHash('md5').update(check.password + check.login).digest('hex');
            const outer = createHash('md5').update(inner).update(m.body.subarray(4, 8)).digest('hex');
            session.write(message('p', Buffer.from(`md5${outer}\0`, 'utf8')));
          } else if (code === 10) {
            const mechanisms = m.body.subarray(4).toString('utf8').split('\0');
            if (!mechanisms.includes('SCRAM-SHA-256')) return deadline.fail(`pgsql: no supported SASL mechanism in ${mechanisms.join(' ')}`);
            scram = new Scram(check.password);
            const first = Buffer.from(scram.clientFirst(), 'utf8');
            const len = Buffer.alloc(4);
            len.writeInt32BE(first.length);
            session.write(message('p', Buffer.concat([Buffer.from('SCRAM-SHA-256\0'), len, first])));
          } else if (code === 11 && scram) {
            session.write(message('p', Buffer.from(scram.clientFinal(m.body.subarray(4).toString('utf8')), 'utf8')));
          } else if (code === 12 && scram) {
            if (!scram.verifyServerFinal(m.body.subarray(4).toString('utf8'))) return deadline.fail('pgsql: SCRAM server signature mismatch');
          } else return deadline.fail(`pgsql: unsupported authentication request ${code}`);
        }
        const sql = stripSlash(requestOf(target, check));
        if (sql === '') {
          session.write(message('X', Buffer.alloc(0)));
          return deadline.ok(`pgsql login as ${check.login} ok`);
        }
        session.write(message('Q', Buffer.from(`${sql}\0`, 'utf8')));
        let rows = 0;
        let error: string | undefined;
        for (;;) {
          const m = await readMessage(session);
          if (m.type === 'D') rows++;
          else if (m.type === 'E') error = errorMessage(m.body);
          else if (m.type === 'Z') break;
        }
        session.write(message('X', Buffer.alloc(0)));
        if (error !== undefined) return deadline.fail(`pgsql query: ${error}`);
        if (rows < 1) return deadline.fail('pgsql query returned 0 rows');
        return deadline.ok(`pgsql query returned ${rows} row(s)`);
      } finally {
        session.close();
      }
    });
  },
};
