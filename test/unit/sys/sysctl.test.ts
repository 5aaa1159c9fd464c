import assert from 'node:assert/strict';
import { DirectorError } from '../../../src/core/errors.js';
import { readSysctl, sysctlPath } from '../../../src/sys/sysctl.js';

describe('sys/sysctl', () => {
  it('maps dotted and slashed keys to /proc/sys paths (slashes keep dotted interface names intact)', () => {
    assert.equal(sysctlPath('net.ipv4.ip_forward'), '/proc/sys/net/ipv4/ip_forward');
    assert.equal(sysctlPath('net/ipv6/conf/eth0.100/forwarding'), '/proc/sys/net/ipv6/conf/eth0.100/forwarding');
  });

  it('refuses keys that would leave /proc/sys', () => {
    assert.throws(() => sysctlPath('net/../../etc/passwd'), (e: unknown) => e instanceof DirectorError && e.code === 'DIR_ERR_SYS_UNAVAILABLE');
    assert.throws(() => sysctlPath('/etc/passwd'), DirectorError);
  });

  it('reads a value that exists in every namespace, and undefined for a missing key', () => {
    assert.match(readSysctl('net.ipv4.ip_forward') ?? '', /^[01]$/);
    assert.equal(readSysctl('net.ipv4.conf.nosuchif0.forwarding'), undefined);
  });
});
