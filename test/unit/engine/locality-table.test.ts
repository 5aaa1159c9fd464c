/** The lblc/lblcr destination table's garbage collection (ip_vs_lblc_check_expire), shared by both schedulers. */
import assert from 'node:assert/strict';
import { LBLC_COUNT_FOR_FULL_EXPIRATION, LBLC_ENTRY_TIMEOUT_MS, LBLC_MAX_SIZE, LocalityTable } from '../../../src/engine/schedulers/lblc.js';

describe('engine/schedulers: LocalityTable expiry (lblc, lblcr)', () => {
  it('drops entries unused for the expiration only on every 30th run', () => {
    const t = new LocalityTable<{ lastUse: number }>();
    t.set('10.0.0.1', { lastUse: 0 });
    t.set('10.0.0.2', { lastUse: 5_000 });
    const expiration = 10_000;
    for (let run = 1; run < LBLC_COUNT_FOR_FULL_EXPIRATION; run++) {
      t.expire(12_000, expiration);
      assert.equal(t.size, 2, `run ${run} is not a full expiration`);
    }
    t.expire(12_000, expiration);
    assert.deepEqual([...t.keys()], ['10.0.0.2'], 'the 30th run drops the entry unused for >= expiration');
    for (let run = 1; run < LBLC_COUNT_FOR_FULL_EXPIRATION; run++) t.expire(20_000, expiration);
    assert.equal(t.size, 1, 'the counter restarted at 1');
    t.expire(20_000, expiration);
    assert.equal(t.size, 0);
  });

  it('above max_size, trims (size - max) * 4/3 entries unused for ENTRY_TIMEOUT, oldest-inserted first', () => {
    const t = new LocalityTable<{ lastUse: number }>();
    const now = LBLC_ENTRY_TIMEOUT_MS + 1;
    const over = 30;
    // The first 10 entries are fresh (kept), the rest stale.
    for (let i = 0; i < LBLC_MAX_SIZE + over; i++) t.set(`k${i}`, { lastUse: i < 10 ? now : 0 });
    t.expire(now, 24 * 3600_000);
    const goal = Math.floor((over * 4) / 3);
    assert.equal(t.size, LBLC_MAX_SIZE + over - goal);
    for (let i = 0; i < 10; i++) assert.ok(t.has(`k${i}`), `fresh k${i} kept`);
    assert.equal(t.has('k10'), false, 'the oldest stale entry went first');
    assert.equal(t.has(`k${10 + goal}`), true);
  });
});
