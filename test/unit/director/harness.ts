/** Builds a started Director over fakes. */
import type { ClusterConfig } from '../../../src/config/model.js';
import { ManualClock } from '../../../src/core/clock.js';
import { MemoryLogger } from '../../../src/core/logger.js';
import { Director, type DirectorOptions } from '../../../src/director/director.js';
import { FakeHealthMonitor, RecordingEngine, RecordingMailer, RecordingRunner } from './fakes.js';

export interface Harness {
  readonly director: Director;
  readonly engine: RecordingEngine;
  readonly health: FakeHealthMonitor;
  readonly clock: ManualClock;
  readonly runner: RecordingRunner;
  readonly mailer: RecordingMailer;
  readonly logger: MemoryLogger;
  /** Advance the clock and wait for the director to settle. */
  step(ms: number): Promise<void>;
}

export async function startHarness(config: ClusterConfig, extra: Partial<DirectorOptions> = {}, clock = new ManualClock()): Promise<Harness> {
  const engine = new RecordingEngine();
  const health = new FakeHealthMonitor(() => clock.now());
  const runner = new RecordingRunner();
  const mailer = new RecordingMailer();
  const logger = new MemoryLogger();
  const director = new Director({ config, engine, health, clock, logger, runCommand: runner.run, mailer, maintenanceDir: null, ...extra });
  await director.start();
  await director.settled();
  return {
    director,
    engine,
    health,
    clock,
    runner,
    mailer,
    logger,
    async step(ms: number) {
      clock.advance(ms);
      await director.settled();
    },
  };
}
