import assert from 'node:assert/strict';
import { MemoryLogger } from '../../../src/core/logger.js';
import type { ClusterConfig, ScheduleConfig } from '../../../src/config/model.js';
import { cronProblem, parseScheduleTarget, Scheduler, validateSchedules } from '../../../src/daemon/schedule.js';

const loc = { file: '/etc/directord/d.toml', line: 12, column: 1 };

function configWith(schedules: ScheduleConfig[]): ClusterConfig {
  // Only the fields validateSchedules reads; the rest of ClusterConfig is irrelevant here.
  return {
    files: [],
    daemon: { schedules } as unknown as ClusterConfig['daemon'],
    vrrp: { instances: [], syncGroups: [], scripts: [] },
    virtualServices: [{ id: 'tcp:127.50.0.1:80', reals: [{ key: '127.50.0.2:80' }, { key: '127.50.0.3:80' }] }] as unknown as ClusterConfig['virtualServices'],
  };
}

describe('daemon/schedule', () => {
  it('accepts node-cron expressions and explains bad ones', () => {
    assert.equal(cronProblem('0 3 * * 0'), undefined);
    assert.equal(cronProblem('*/5 * * * * *'), undefined);
    assert.match(cronProblem('61 * * * *') ?? '', /minute/);
    assert.notEqual(cronProblem('every sunday'), undefined);
  });

  it('splits VIRTUAL/REAL targets', () => {
    assert.deepEqual(parseScheduleTarget('tcp:127.50.0.1:80/127.50.0.2:80'), { virtualId: 'tcp:127.50.0.1:80', realKey: '127.50.0.2:80' });
    assert.deepEqual(parseScheduleTarget('[2001:db8::1]:80'), { realKey: '[2001:db8::1]:80' });
  });

  it('reports invalid cron and unknown targets as located config errors', () => {
    const errors = validateSchedules(
      configWith([
        { name: 'ok', cron: '0 3 * * 0', action: 'drain', target: '127.50.0.2:80', location: loc },
        { name: 'badcron', cron: '0 25 * * *', action: 'reload', location: { ...loc, line: 20 } },
        { name: 'notarget', cron: '0 3 * * *', action: 'disable', location: loc },
        { name: 'ghost', cron: '0 3 * * *', action: 'enable', target: 'tcp:127.50.0.1:80/127.50.0.9:80', location: loc },
        { name: 'ghostvs', cron: '0 3 * * *', action: 'enable', target: 'udp:127.50.0.1:53/127.50.0.2:80', location: loc },
      ]),
    );
    assert.deepEqual(
      errors.map((e) => [e.code, e.location.line]),
      [
        ['DIR_ERR_DAEMON_SCHEDULE_CRON', 20],
        ['DIR_ERR_DAEMON_SCHEDULE_TARGET', 12],
        ['DIR_ERR_DAEMON_SCHEDULE_TARGET', 12],
        ['DIR_ERR_DAEMON_SCHEDULE_TARGET', 12],
      ],
    );
    assert.match(errors[0]?.format() ?? '', /^\/etc\/directord\/d\.toml:20:1: DIR_ERR_DAEMON_SCHEDULE_CRON schedule "badcron": invalid cron expression "0 25 \* \* \*"/);
    assert.match(errors[2]?.message ?? '', /unknown real server 127\.50\.0\.9:80/);
  });

  it('schedules jobs with node-cron, runs them through the runner and logs the outcome', async () => {
    const logger = new MemoryLogger();
    const ran: string[] = [];
    const s = new Scheduler({
      logger,
      run: async (job) => {
        ran.push(job.name);
        if (job.name === 'boom') throw Object.assign(new Error('no such real'), { code: 'DIR_ERR_X' });
        return 'done';
      },
    });
    const jobs: ScheduleConfig[] = [
      { name: 'weekly', cron: '0 3 * * 0', action: 'drain', target: '127.50.0.2:80', location: loc },
      { name: 'boom', cron: '0 4 * * 0', action: 'enable', target: '127.50.0.2:80', location: loc },
    ];
    s.setJobs(jobs);
    const next = s.nextRuns();
    assert.equal(next.length, 2);
    assert.equal(next[0]?.next?.getDay(), 0, 'next run of "0 3 * * 0" is a Sunday');
    assert.equal(next[0]?.next?.getHours(), 3);
    await s.runJob(jobs[0] as ScheduleConfig);
    await s.runJob(jobs[1] as ScheduleConfig);
    assert.deepEqual(ran, ['weekly', 'boom']);
    assert.ok(logger.records.some((r) => r.level === 'info' && r.message === 'scheduled drain 127.50.0.2:80: done'));
    assert.ok(logger.records.some((r) => r.level === 'error' && /scheduled enable 127\.50\.0\.2:80 failed: no such real/.test(r.message)));
    s.close();
    assert.deepEqual(s.nextRuns(), []);
  });
});
