/**
 * Listens with IP_FREEBIND on an address the namespace does not have (yet) and answers every
 * connection with "freebind <address>". Prints {"listening":true} once the server is up.
 * Usage: node --import tsx test/netns/freebind-probe.ts <address> <port>
 */
import { createServer } from 'node:net';
import { openFreebindSocket } from '../../src/sys/freebind.js';

const [address = '', portText = '0'] = process.argv.slice(2);
const fd = openFreebindSocket({ protocol: 'tcp', address, port: Number(portText) });
const server = createServer((s) => s.end(`freebind ${s.localAddress ?? ''}`));
server.listen({ fd }, () => process.stdout.write(`${JSON.stringify({ listening: true })}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
