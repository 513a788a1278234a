// The mission config: one JSON file per node. This module reads the file and the sections every
// node has (node identity, data directory, logging, telemetry); each subsystem validates its own
// section (dtn, cla, routes, cmd, and the executive's schedule tables) with the same Fields
// reader, so every error names the file, the field and what was expected. The whole file is
// validated here, before a node builds anything from it.
//
//   "tlm": { "summaryEveryMajorFrames": 10,
//            "downlink": { "endpoint": "ipn:100.2", "housekeepingEvery": 10, "lifetimeS": 3600 } }
// `tlm.downlink` absent: nothing is sent to the ground (responses, events and housekeeping stay
// in the log and housekeeping.json). `cmd` absent: the node takes no commands at all.
import { resolve } from 'node:path';
import { parseClaConfig, type ClaConfig } from '../cla/config.js';
import { parseCmdConfig, type CmdConfig } from '../cmd/config.js';
import { parseDtnConfig, type DtnConfig } from '../dtn/config.js';
import { parseEid, type IpnEid } from '../dtn/eid.js';
import { parseEccConfig, type EccConfig } from '../ecc/config.js';
import { parseInferConfig, type InferConfig } from '../infer/config.js';
import { parseSchedule, type Schedule, type TaskSpec } from '../exec/schedule.js';
import { parseRouting, type ContactPlanSettings } from '../route/config.js';
import type { Router } from '../route/router.js';
import { Fields, join, readJsonFile } from './fields.js';
import { inferTasks, nodeTasks } from './tasks.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Top-level sections of a mission config; anything else is a typo and is rejected. `$schema` names the JSON Schema for editors and is ignored. */
const SECTIONS = ['$schema', 'node', 'dataDir', 'log', 'tlm', 'dtn', 'cla', 'routes', 'contactPlan', 'cmd', 'ecc', 'infer', 'exec'] as const;

export interface DownlinkConfig {
  /** The ground endpoint responses, events and housekeeping go to. */
  readonly endpoint: IpnEid;
  /** Every Nth housekeeping record (one per major frame) is sent. */
  readonly housekeepingEvery: number;
  readonly lifetimeS: number;
}

export interface MissionConfig {
  readonly file: string;
  readonly node: { readonly id: number; readonly name: string };
  /** Absolute path; relative paths in the file are taken from the working directory. */
  readonly dataDir: string;
  readonly log: { readonly level: LogLevel };
  readonly tlm: { readonly summaryEveryMajorFrames: number; readonly downlink?: DownlinkConfig };
  readonly dtn: DtnConfig;
  readonly cla: ClaConfig;
  /** The static `routes` table, or CGR over `contactPlan` (flight/route/config.ts). */
  readonly routes: Router;
  readonly contactPlan?: ContactPlanSettings;
  readonly cmd?: CmdConfig;
  /** Protected memory and the `ecc.scrub` task (flight/ecc); none without it. */
  readonly ecc?: EccConfig;
  /** Onboard inference: the starting model, the infer task's budget, triage thresholds (flight/infer). */
  readonly infer?: InferConfig;
  /** The schedule tables, checked against the tasks this config gives the node (config/tasks.ts). */
  readonly exec: Schedule<TaskSpec>;
}

export function loadMission(file: string): MissionConfig {
  return parseMission(file, readJsonFile(file, 'mission config file'));
}

export function parseMission(file: string, raw: unknown): MissionConfig {
  const f = new Fields(file);
  const top = f.object(raw, '', SECTIONS);
  if (top.$schema !== undefined) f.string(top.$schema, '$schema');
  const node = f.object(top.node, 'node', ['id', 'name']);
  // ipn node numbers are unsigned 64-bit; kept to the safe-integer range of a JS number.
  const id = f.integer(node.id, 'node.id', 1, Number.MAX_SAFE_INTEGER);
  const name = node.name === undefined ? `tern-${id}` : f.string(node.name, 'node.name');
  const dataDir = resolve(top.dataDir === undefined ? `var/node-${id}` : f.string(top.dataDir, 'dataDir'));
  const log = top.log === undefined ? {} : f.object(top.log, 'log', ['level']);
  const tlm = top.tlm === undefined ? {} : f.object(top.tlm, 'tlm', ['summaryEveryMajorFrames', 'downlink']);
  if (top.exec === undefined) f.fail('exec', 'an object with the schedule tables');
  const dtn = parseDtnConfig(f, top.dtn, 'dtn');
  const cmd = top.cmd === undefined ? undefined : parseCmdConfig(f, top.cmd, 'cmd');
  const ecc = top.ecc === undefined ? undefined : parseEccConfig(f, top.ecc, 'ecc');
  const infer = top.infer === undefined ? undefined : parseInferConfig(f, top.infer, 'infer');
  const routing = parseRouting(f, id, top.routes, top.contactPlan);
  return {
    file,
    node: { id, name },
    dataDir,
    log: { level: log.level === undefined ? 'info' : f.oneOf(log.level, join('log', 'level'), LOG_LEVELS) },
    tlm: {
      summaryEveryMajorFrames: tlm.summaryEveryMajorFrames === undefined ? 10
        : f.integer(tlm.summaryEveryMajorFrames, 'tlm.summaryEveryMajorFrames', 1, 1_000_000),
      ...(tlm.downlink === undefined ? {} : { downlink: parseDownlink(f, tlm.downlink, 'tlm.downlink') }),
    },
    dtn,
    cla: parseClaConfig(f, top.cla, 'cla'),
    routes: routing.router,
    ...(routing.plan ? { contactPlan: routing.plan } : {}),
    ...(cmd ? { cmd } : {}),
    ...(ecc ? { ecc } : {}),
    ...(infer ? { infer } : {}),
    exec: parseSchedule(f, top.exec, 'exec', [...nodeTasks(dtn, cmd, ecc), ...inferTasks(infer)]),
  };
}

function parseDownlink(f: Fields, raw: unknown, field: string): DownlinkConfig {
  const d = f.object(raw, field, ['endpoint', 'housekeepingEvery', 'lifetimeS']);
  const text = f.string(d.endpoint, join(field, 'endpoint'));
  let endpoint;
  try {
    endpoint = parseEid(text, join(field, 'endpoint'));
  } catch {
    endpoint = undefined;
  }
  if (endpoint?.scheme !== 'ipn') return f.fail(join(field, 'endpoint'), 'an ipn EID such as "ipn:100.2"', text);
  return {
    endpoint,
    housekeepingEvery: d.housekeepingEvery === undefined ? 10 : f.integer(d.housekeepingEvery, join(field, 'housekeepingEvery'), 1, 1_000_000),
    lifetimeS: d.lifetimeS === undefined ? 3600 : f.integer(d.lifetimeS, join(field, 'lifetimeS'), 1, 30 * 86400),
  };
}
