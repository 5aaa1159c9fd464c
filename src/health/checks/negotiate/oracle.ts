/**
 * negotiate, service=oracle. ldirectord logs in through DBD::Oracle with `sid=<database>` and runs
 * the request as SQL. Oracle's wire protocol past the listener (TTC/TTI with O5LOGON) is large,
 * undocumented and version-dependent, so directord does not log in. What it does: a TNS CONNECT to
 * the listener naming the SID (database), and it judges the listener's answer:
 * ACCEPT (2), REDIRECT (5, dedicated/shared server hand-off) or RESEND (11) = the listener knows
 * the SID and will serve it → up; REFUSE (4, e.g. ORA-12505 "SID not known") or anything else →
 * down with the listener's (ERR=...) text. For a real login-and-query check use an external
 * check with sqlplus (checks/README.md).
 */
import type { Checker } from '../../types.js';
import { Session, checkPortOf, guarded } from '../common.js';

const TNS_CONNECT = 1;

export function tnsConnectPacket(connectData: string): Buffer {
  const data = Buffer.from(connectData, 'latin1');
  const bodyLen = 50; // fixed part of CONNECT after the 8-byte header (offset 58 to the data)
  const packet = Buffer.alloc(8 + bodyLen + data.length);
  packet.writeUInt16BE(packet.length, 0);
  packet[4] = TNS_CONNECT;
  let p = 8;
  packet.writeUInt16BE(0x013a, p); // version 314
  packet.writeUInt16BE(0x012c, p + 2); // lowest compatible 300
  packet.writeUInt16BE(0x0c41, p + 4); // service options
  packet.writeUInt16BE(0x2000, p + 6); // SDU
  packet.writeUInt16BE(0xffff, p + 8); // TDU
  packet.writeUInt16BE(0x7f08, p + 10); // protocol characteristics
  packet.writeUInt16BE(0x0000, p + 12); // line turnaround
  packet.writeUInt16BE(0x0100, p + 14); // value of 1 in hardware
  packet.writeUInt16BE(data.length, p + 16); // connect data length
  packet.writeUInt16BE(8 + bodyLen, p + 18); // connect data offset
  p += 20;
  packet.writeUInt32BE(0, p); // max receivable connect data
  packet[p + 4] = 0x41; // connect flags 0
  packet[p + 5] = 0x41; // connect flags 1
  data.copy(packet, 8 + bodyLen);
  return packet;
}

export const oracleChecker: Checker = {
  run(target, check, signal) {
    return guarded(signal, check.negotiateTimeoutMs, async (deadline) => {
      const port = checkPortOf(target, check);
      if (port === undefined) return deadline.fail('no port to check');
      if (check.database === '') return deadline.fail('oracle check needs database (the SID)');
      const cd =
        `(DESCRIPTION=(CONNECT_DATA=(SID=${check.database})(CID=(PROGRAM=directord)(HOST=directord)(USER=${check.login || 'directord'})))` +
        `(ADDRESS=(PROTOCOL=TCP)(HOST=${target.address})(PORT=${port})))`;
      const session = await Session.connect(target.address, port, deadline);
      try {
        session.write(tnsConnectPacket(cd));
        const head = await session.readBytes(8, 'tns reply');
        const len = head.readUInt16BE(0);
        const type = head[4] ?? 0;
        const body = len > 8 ? await session.readBytes(Math.min(len - 8, 4096), 'tns reply') : Buffer.alloc(0);
        const text = body.toString('latin1');
        const err = /\(ERR=(\d+)\)/.exec(text)?.[1];
        if (type === 2 || type === 5 || type === 11) {
          return deadline.ok(`oracle listener ${type === 2 ? 'ACCEPT' : type === 5 ? 'REDIRECT' : 'RESEND'} for SID ${check.database} (no login: see checks/README.md)`);
        }
        if (type === 4) return deadline.fail(`oracle listener REFUSE for SID ${check.database}${err ? `: ORA-${err}` : ''}`);
        return deadline.fail(`oracle listener: unexpected TNS packet type ${type}`);
      } finally {
        session.close();
      }
    });
  },
};
