/**
 * Cron-scheduled admin jobs (`[[daemon.schedules]]`): drain/enable/disable a real, reload, or a
 * stats snapshot to the log. The only file that imports node-cron.
 *
 * Cron jobs are wall-clock by nature (a maintenance window at 03:00 Sunday), so they run on
 * node-cron's timers rather than the injected monotonic Clock; the job bodies are plain functions
 * (`runJob`) so tests call them directly instead of waiting for a minute to turn.
 * `noOverlap` keeps a slow drain from being started twice.
 */
import cron from 'node-cron';
import type { ScheduledTask } from 'node-cron';
import { ConfigError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { ClusterConfig, ScheduleConfig } from '../config/model.js';

/** A drain/enable/disable target: "VIRTUAL_ID/REAL_KEY" or "REAL_KEY" (every virtual). */
export interface ScheduleTarget {
  readonly virtualId?: string;
  readonly realKey: string;
}

/** Splits a schedule target. Virtual ids (`tcp:192.0.2.1:80`) and real keys never contain '/'. */
export function parseScheduleTarget(target: string): ScheduleTarget {
  const slash = target.indexOf('/');
  if (slash < 0) return { realKey: target.trim() };
  return { virtualId: target.slice(0, slash).trim(), realKey: target.slice(slash + 1).trim() };
}

/** Is this a cron expression node-cron accepts? Returns the reason when it is not. */
export function cronProblem(expression: string): string | undefined {
  const detail = cron.validateDetailed(expression);
  if (detail.valid) return undefined;
  const first = detail.errors[0];
  return first ? `${first.field}: ${first.message}` : 'not a cron expression';
}

/**
 * Checks every schedule of a config: the cron expression parses, and drain/enable/disable name
 * a configured real. Invalid schedules are config errors, so a reload that introduces one is
 * refused and the old config keeps running.
 */
export function validateSchedules(config: ClusterConfig): ConfigError[] {
  const problems: ConfigError[] = [];
  for (const s of config.daemon.schedules) {
    const why = cronProblem(s.cron);
    if (why !== undefined) {
      problems.push(new ConfigError('DIR_ERR_DAEMON_SCHEDULE_CRON', s.location, { name: s.name, cron: s.cron, reason: why }));
    }
    if (s.action === 'drain' || s.action === 'enable' || s.action === 'disable') {
      if (s.target === undefined || s.target.trim() === '') {
        problems.push(new ConfigError('DIR_ERR_DAEMON_SCHEDULE_TARGET', s.location, { name: s.name, action: s.action, reason: 'needs a target' }));
        continue;
      }
      const t = parseScheduleTarget(s.target);
      const virtuals = t.virtualId === undefined ? config.virtualServices : config.virtualServices.filter((v) => v.id === t.virtualId);
      if (t.virtualId !== undefined && virtuals.length === 0) {
        problems.push(
          new ConfigError('DIR_ERR_DAEMON_SCHEDULE_TARGET', s.location, { name: s.name, action: s.action, reason: `names unknown virtual service ${t.virtualId}` }),
        );
      } else if (!virtuals.some((v) => v.reals.some((r) => r.key === t.realKey))) {
        problems.push(
          new ConfigError('DIR_ERR_DAEMON_SCHEDULE_TARGET', s.location, { name: s.name, action: s.action, reason: `names unknown real server ${t.realKey}` }),
        );
      }
    }
  }
  return problems;
}

/** What a job does; the daemon supplies it (it owns the director). Resolves a summary line. */
export type ScheduleRunner = (job: ScheduleConfig) => Promise<string>;

export interface SchedulerOptions {
  readonly logger: Logger;
  readonly run: ScheduleRunner;
  /** IANA zone for the expressions (default: the process's local time, as cron does). */
  readonly timezone?: string;
}

/** Owns the node-cron tasks of the current config. */
export class Scheduler {
  private tasks: ScheduledTask[] = [];
  private jobs: readonly ScheduleConfig[] = [];

  constructor(private readonly options: SchedulerOptions) {}

  /** Replaces the scheduled jobs (start and every successful reload). */
  setJobs(jobs: readonly ScheduleConfig[]): void {
    this.stopAll();
    this.jobs = jobs;
    for (const job of jobs) {
      const task = cron.schedule(job.cron, () => this.runJob(job), {
        name: `directord:${job.name}`,
        noOverlap: true,
        timezone: this.options.timezone,
      });
      this.tasks.push(task);
    }
    if (jobs.length > 0) {
      this.options.logger.info(`scheduled ${jobs.length} job(s): ${jobs.map((j) => `${j.name} "${j.cron}" ${j.action}`).join(', ')}`);
    }
  }

  /** The next run of each job (for status and tests). */
  nextRuns(): { name: string; next: Date | null }[] {
    return this.tasks.map((t, i) => ({ name: this.jobs[i]?.name ?? String(i), next: t.getNextRun() }));
  }

  /** Runs one job now and logs what it did; never rejects. */
  async runJob(job: ScheduleConfig): Promise<void> {
    const log = this.options.logger.child({ schedule: job.name });
    try {
      const summary = await this.options.run(job);
      log.info(`scheduled ${job.action}${job.target ? ` ${job.target}` : ''}: ${summary}`, { by: 'schedule' });
    } catch (err) {
      log.error(`scheduled ${job.action}${job.target ? ` ${job.target}` : ''} failed: ${(err as Error).message}`, {
        code: (err as { code?: string }).code,
      });
    }
  }

  close(): void {
    this.stopAll();
    this.jobs = [];
  }

  destroy(): void {
    this.close();
  }

  private stopAll(): void {
    for (const t of this.tasks) {
      void t.stop();
      void t.destroy();
    }
    this.tasks = [];
  }
}
