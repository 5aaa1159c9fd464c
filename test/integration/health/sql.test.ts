/** mysql and pgsql negotiate checks against real MariaDB and PostgreSQL started in temp dirs. */
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { createExternalChecker } from '../../../src/health/checks/external.js';
import type { CheckConfig } from '../../../src/config/model.js';
import { negotiateChecker } from '../../../src/health/checks/negotiate.js';
import type { CheckResult } from '../../../src/health/types.js';
import { type MariadbServer, startMariadb } from '../../support/servers/mariadb.js';
import { type PostgresServer, startPostgres } from '../../support/servers/postgres.js';
import { checkConfig, checkTarget } from '../../unit/health/fixtures.js';

function negotiate(host: string, port: number, check: Partial<CheckConfig>): Promise<CheckResult> {
  return negotiateChecker.run(checkTarget(host, port), checkConfig({ type: 'negotiate', negotiateTimeoutMs: 15_000, ...check }), new AbortController().signal);
}

describe('health/negotiate sql against real databases', function () {
  this.timeout(60_000);

  describe('mysql (MariaDB)', () => {
    let db: MariadbServer;
    before(async () => {
      db = await startMariadb('127.20.6.1');
    });
    after(async () => db?.stop());

    it('authenticates and runs the request: rows = up, no rows = down', async () => {
      const base = { service: 'mysql' as const, login: db.user, password: db.password, database: db.database };
      const up = await negotiate(db.host, db.port, { ...base, request: '/SELECT note FROM probe' });
      assert.equal(up.ok, true, up.detail);
      assert.match(up.detail, /2 row/);
      const none = await negotiate(db.host, db.port, { ...base, request: 'SELECT note FROM probe WHERE id > 100' });
      assert.equal(none.ok, false);
      assert.match(none.detail, /0 rows/);
      const bad = await negotiate(db.host, db.port, { ...base, request: 'SELECT nope FROM nowhere' });
      assert.equal(bad.ok, false);
      assert.match(bad.detail, /error 1146/);
    });

    it('login only when the request is "/"; a wrong password or no login is down', async () => {
      const only = await negotiate(db.host, db.port, { service: 'mysql', login: db.user, password: db.password, database: db.database });
      assert.equal(only.ok, true, only.detail);
      const wrong = await negotiate(db.host, db.port, { service: 'mysql', login: db.user, password: 'nope', request: 'SELECT 1' });
      assert.equal(wrong.ok, false);
      assert.match(wrong.detail, /error 1045/);
      assert.equal((await negotiate(db.host, db.port, { service: 'mysql', request: 'SELECT 1' })).ok, false);
    });

    it('shipped checks/check_mysql.sh through the external checker', async () => {
      const external = createExternalChecker({ perl: false });
      const command = [resolve('checks/check_mysql.sh')];
      const up = await external.run(checkTarget(db.host, db.port), checkConfig({ type: 'external', command, login: db.user }), new AbortController().signal);
      assert.equal(up.ok, true, up.detail);
      const down = await external.run(checkTarget(db.host, 1), checkConfig({ type: 'external', command }), new AbortController().signal);
      assert.equal(down.ok, false);
    });
  });

  describe('pgsql (PostgreSQL, SCRAM-SHA-256)', () => {
    let db: PostgresServer;
    before(async () => {
      db = await startPostgres('127.20.7.1');
    });
    after(async () => db?.stop());

    it('authenticates with SCRAM and runs the request: rows = up, no rows = down', async () => {
      const base = { service: 'pgsql' as const, login: db.user, password: db.password, database: db.database };
      const up = await negotiate(db.host, db.port, { ...base, request: '/SELECT datname FROM pg_database' });
      assert.equal(up.ok, true, up.detail);
      const none = await negotiate(db.host, db.port, { ...base, request: 'SELECT 1 WHERE false' });
      assert.equal(none.ok, false);
      assert.match(none.detail, /0 rows/);
      const bad = await negotiate(db.host, db.port, { ...base, request: 'SELECT * FROM nowhere' });
      assert.equal(bad.ok, false);
      assert.match(bad.detail, /does not exist/);
    });

    it('a wrong password is down with the server message', async () => {
      const r = await negotiate(db.host, db.port, { service: 'pgsql', login: db.user, password: 'nope', database: db.database });
      assert.equal(r.ok, false);
      assert.match(r.detail, /password authentication failed/);
      const only = await negotiate(db.host, db.port, { service: 'pgsql', login: db.user, password: db.password, database: db.database });
      assert.equal(only.ok, true, only.detail);
    });
  });
});
