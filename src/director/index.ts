/** The director's public surface (the daemon and control import from here). */
export { Director, type DirectorOptions } from './director.js';
export { SendmailMailer, SmtpMailer, type SendmailMailerOptions, type SmtpMailerOptions } from './mailer.js';
export { loadStateFile, saveStateFile, STATE_FILE_VERSION, type DirectorStateData, type PairRecord } from './state-file.js';
export type { DirectorReadApi, DirectorStatus, LastCheck, RealOverride, RealStatus, VirtualStatus } from './status.js';
export type { CommandOptions, CommandResult, DaemonPhase, DrainHandle, DrainOutcome, DrainProgress, MailMessage, Mailer, RealSelector, ReverseLookup, RunCommand } from './types.js';
export type { RuntimeEditResult } from './director.js';
export { effectiveConfig, emptyOverlay, type RuntimeEditCommand, type RuntimeOverlay } from './runtime-edits.js';
export type { RuntimeEditMark } from './status.js';
