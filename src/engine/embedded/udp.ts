/**
 * One UDP flow: datagrams from one client address:port go to the real chosen for its first
 * datagram until the flow is idle for the service's udp timeout (IPVS udp timeout, ipvsadm --set;
 * seed-features 2.3). Each flow has its own socket towards the real so answers map back to the
 * client; answers leave from the VIP socket. A flow counts as InActConn, as in IPVS (UDP entries
 * never reach the "active" state; seed-features 3.6).
 */
import dgram from 'node:dgram';
import type { ConnectionEntry } from '../model.js';
import { formatEndpointText } from './format.js';
import type { ServiceState } from './service.js';
import type { Flow, RealState, Template } from './state.js';

export class UdpFlow implements Flow {
  active = false;
  lastActive: number;
  private readonly sock: dgram.Socket;
  private closed = false;

  constructor(
    private readonly svc: ServiceState,
    readonly mapKey: string,
    private readonly clientAddress: string,
    private readonly clientPort: number,
    readonly real: RealState,
    public template: Template | undefined,
    readonly ops: boolean,
  ) {
    this.lastActive = svc.engine.clock.now();
    this.sock = dgram.createSocket(real.address.includes(':') ? 'udp6' : 'udp4');
    this.sock.on('message', (msg, rinfo) => this.onReply(msg, rinfo));
    this.sock.on('error', (err) => {
      svc.engine.logger.debug('udp flow error', { service: svc.key, real: real.key, error: err.message });
      this.close();
    });
    real.counters.conns++;
    svc.counters.conns++;
    if (!ops) {
      real.bind(this);
      svc.flows.add(this);
    }
  }

  send(msg: Buffer): void {
    if (this.closed) return;
    this.lastActive = this.svc.engine.clock.now();
    this.real.counters.inPackets++;
    this.real.counters.inBytes += msg.length;
    this.svc.counters.inPackets++;
    this.svc.counters.inBytes += msg.length;
    this.sock.send(msg, this.real.port, this.real.address);
  }

  private onReply(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.closed || rinfo.port !== this.real.port) return;
    this.lastActive = this.svc.engine.clock.now();
    this.real.counters.outPackets++;
    this.real.counters.outBytes += msg.length;
    this.svc.counters.outPackets++;
    this.svc.counters.outBytes += msg.length;
    this.svc.sendToClient(msg, this.clientAddress, this.clientPort);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sock.close();
    if (!this.ops) {
      this.real.unbind(this);
      this.svc.flows.delete(this);
      this.svc.releaseTemplate(this);
    }
    this.svc.forgetUdpFlow(this);
    this.svc.engine.flowFinished();
  }

  reset(): void {
    this.close();
  }

  expire(now: number): boolean {
    const limit = this.svc.desired.timeouts.udpMs;
    if (limit > 0 && now - this.lastActive >= limit) {
      this.close();
      return true;
    }
    return false;
  }

  entry(now: number): ConnectionEntry {
    return {
      protocol: 'UDP',
      state: 'UDP',
      expiresInMs: Math.max(0, this.svc.desired.timeouts.udpMs - (now - this.lastActive)),
      source: formatEndpointText(this.clientAddress, this.clientPort),
      virtual: formatEndpointText(this.svc.address, this.svc.port),
      destination: this.real.key,
      template: false,
      serviceKey: this.svc.key,
    };
  }
}
