/**
 * Agent check (HAProxy agent-check, haproxy configuration.txt 5.2 "agent-check"): connect to the
 * real's agent port, read one line (the agent may close after it), and interpret its words,
 * separated by spaces, commas or tabs:
 * - `up` / `ready`: up (ready also clears drain); `down`, `fail`, `stopped`: down; `maint`: down;
 * - `drain`: up but drained (weight 0 for new connections);
 * - `NN%`: weight as a percentage of the configured weight (CheckResult.weightPercent; the
 *   director scales the configured weight by it);
 * - a trailing `#comment` is kept in the detail. Unknown words are ignored, as HAProxy does.
 * An agent that sends only a weight is up.
 */
import type { Checker } from '../types.js';
import { Session, guarded } from './common.js';

export interface AgentReply {
  readonly state?: 'up' | 'down' | 'maint';
  readonly drain?: boolean;
  readonly weightPercent?: number;
  readonly comment?: string;
}

/** Parses one agent line. */
export function parseAgentReply(line: string): AgentReply {
  const hash = line.indexOf('#');
  const comment = hash >= 0 ? line.slice(hash + 1).trim() : undefined;
  const words = (hash >= 0 ? line.slice(0, hash) : line).trim().toLowerCase().split(/[\s,]+/).filter(Boolean);
  let state: AgentReply['state'];
  let drain: boolean | undefined;
  let weightPercent: number | undefined;
  for (const w of words) {
    // HAProxy (server_parse_weight_change_request) clamps the percentage to 25600 against
    // overflow; the resulting weight is capped by the director (plan.ts percentWeight).
    const pct = /^(\d+)%$/.exec(w);
    if (pct) weightPercent = Math.min(25_600, Number(pct[1]));
    else if (w === 'up') state = 'up';
    else if (w === 'ready') {
      state = 'up';
      drain = false;
    } else if (w === 'down' || w === 'fail' || w === 'stopped') state = 'down';
    else if (w === 'maint') state = 'maint';
    else if (w === 'drain') drain = true;
  }
  return { state, drain, weightPercent, comment };
}

export const agentChecker: Checker = {
  run(target, check, signal) {
    return guarded(signal, check.timeoutMs, async (deadline) => {
      const port = check.agentPort;
      if (port === undefined) return deadline.fail('agent check without agent port');
      const session = await Session.connect(target.address, port, deadline);
      try {
        const line = await session.readLine('agent reply');
        const reply = parseAgentReply(line);
        const note = reply.comment ? ` (${reply.comment})` : '';
        const weight = reply.weightPercent !== undefined ? { weightPercent: reply.weightPercent } : {};
        if (reply.state === 'down' || reply.state === 'maint') return deadline.fail(`agent says ${reply.state}${note}`);
        if (reply.state === undefined && reply.weightPercent === undefined && reply.drain === undefined) {
          return deadline.fail(`agent reply not understood: ${JSON.stringify(line.slice(0, 80))}`);
        }
        const words = [reply.state ?? 'up', reply.drain ? 'drain' : '', reply.weightPercent !== undefined ? `${reply.weightPercent}%` : ''].filter(Boolean);
        return deadline.ok(`agent says ${words.join(' ')}${note}`, { ...weight, ...(reply.drain !== undefined ? { drain: reply.drain } : {}) });
      } finally {
        session.close();
      }
    });
  },
};
