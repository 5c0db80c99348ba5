// The answer path, composed: each query goes through the stages parse (dns/query.ts) → lookup
// (dns/respond.ts, with GSLB's pool decision behind the flat zones' lookup) → write (dns/writer.ts) → limit
// (dns/rrl.ts, UDP only) → sign (answer-signing.ts: DO=1 to a signed zone, written again with its signatures,
// after the limit so a flood costs no signatures past its budget) → observe (below: query counts, answer time,
// the query log). The stages pass everything through
// one Exchange that each listener owns and reuses: nothing is allocated per query for the record itself.
import type { Logger } from 'pino';
import { AnswerSigning } from './answer-signing.js';
import type { DynamicName } from './dns/dynamic.js';
import { Exchange, type Transport } from './dns/exchange.js';
import { readQuery } from './dns/query.js';
import { rcodeName, typeName } from './dns/registry.js';
import { type ResponderHooks, respond, type ServedTable, type ServerIdentity } from './dns/respond.js';
import { limitResponse, ResponseRateLimiter, type RrlSettings } from './dns/rrl.js';
import type { Handle } from './dns/transport.js';
import { writeAnswer, writeServfail } from './dns/writer.js';
import { Signer } from './dnssec/signer.js';
import { type GslbEnv, poolResolver } from './gslb/decide.js';
import type { Pool } from './gslb/pool.js';
import { Rotation } from './gslb/rotation.js';
import type { HealthTable } from './health/table.js';
import type { Metrics } from './metrics.js';
import { PoolEvents } from './pool-events.js';
import { signingNumbers } from './signing-status.js';
import type { Snapshot } from './snapshot.js';

export interface ResponderConfig {
  nsid: string | null;
  version: string | null;
  /** `geoip.ecs: false`: a server that does not use ECS neither reads nor echoes it (RFC 7871 §7.2.1). */
  geoip: { ecs: boolean };
}

/** What answering needs, shared by every listener: the zones, the server's identity, the dynamic-name hooks. */
export class Responder<D extends DynamicName = DynamicName> {
  identity: ServerIdentity;
  useEcs: boolean;
  /** Parse every query with the full decoder (the differential tests compare it with the direct reader). */
  slowParse = false;
  /** Called with internal faults (a bug, never bad input): the server logs them. */
  onError: ((e: Error, msg: Buffer) => void) | null = null;
  /** The sign stage, when any zone is signed (the server sets it). */
  signing: AnswerSigning | null = null;

  /** `hooks`: how pool names are answered (the GSLB decision) and address RRsets rotated. */
  constructor(
    readonly table: () => ServedTable<D>,
    cfg: ResponderConfig,
    readonly hooks: ResponderHooks<D>,
  ) {
    this.identity = identityOf(cfg);
    this.useEcs = cfg.geoip.ecs;
  }

  configure(cfg: ResponderConfig): void {
    this.identity = identityOf(cfg);
    this.useEcs = cfg.geoip.ecs;
  }
}

function identityOf(cfg: ResponderConfig): ServerIdentity {
  return { nsid: cfg.nsid === null ? null : Buffer.from(cfg.nsid), version: cfg.version };
}

/** The settings of the answer path the server changes on reload (ServerConfig has this shape). */
export interface AnswerPathConfig extends ResponderConfig {
  rrl: RrlSettings | null;
  log: { queries: boolean };
}

/** Everything the stages of every listener share. */
export class AnswerPath<D extends DynamicName = DynamicName> {
  /** Response rate limiting (UDP only), when `rrl:` is configured. */
  rrl: ResponseRateLimiter | null = null;
  logQueries = false;
  readonly stats: Metrics['queryStats'];
  /** The GSLB environment pool answers are decided in (gslbAnswerPath): runtime overrides are set on it. */
  gslb: GslbEnv | null = null;

  constructor(
    readonly responder: Responder<D>,
    readonly metrics: Metrics,
    readonly log: Logger,
    cfg: AnswerPathConfig,
  ) {
    this.stats = metrics.queryStats;
    this.configure(cfg);
  }

  configure(cfg: AnswerPathConfig): void {
    this.responder.configure(cfg);
    this.logQueries = cfg.log.queries;
    // the same settings keep the table (a reload must not hand every flood a fresh budget); new ones start anew
    const sameRrl = JSON.stringify(cfg.rrl) === JSON.stringify(this.rrl?.cfg ?? null);
    if (!sameRrl) this.rrl = cfg.rrl ? new ResponseRateLimiter(cfg.rrl) : null;
  }
}

/** A listener's handler: its own Exchange, reused for every query the listener answers. */
export function queryHandler<D extends DynamicName>(path: AnswerPath<D>): Handle {
  const ex = new Exchange();
  return (msg, address, transport) => answerQuery(path, ex, msg, address, transport);
}

/** One query through the stages: parse → lookup → write → limit → observe. */
export function answerQuery<D extends DynamicName>(
  path: AnswerPath<D>,
  ex: Exchange,
  msg: Buffer,
  address: string,
  transport: Transport,
): Buffer | null {
  ex.begin(msg, address, transport, performance.now());
  const response = respondTo(path.responder, ex); // parse → lookup → write
  const rrl = path.rrl;
  let out = response !== null && transport === 'udp' && rrl !== null ? limitResponse(rrl, ex) : response; // limit
  if (out !== null && ex.rrlAction === 'send' && path.responder.signing !== null) out = signStage(path.responder, ex, out); // sign
  observe(path, ex, out);
  if (ex.answer === ex.flat) ex.flat.release();
  return out;
}

/** Parse → lookup → write: the response to `ex.msg` (null: dropped unread). Never throws: an internal fault answers SERVFAIL. */
export function respondTo<D extends DynamicName>(r: Responder<D>, ex: Exchange): Buffer | null {
  try {
    if (!readQuery(ex, r.slowParse, !r.useEcs)) return null;
    respond(ex, r.table(), r.identity, r.hooks.resolveDynamic);
    // an answer the sign stage writes again is rotated there, once
    const rotation = r.signing !== null && r.signing.signs(ex) !== null ? null : r.hooks.rotation;
    return writeAnswer(ex, rotation, r.identity.nsid);
  } catch (e) {
    if (r.onError !== null) r.onError(e as Error, ex.msg);
    return writeServfail(ex);
  }
}

/** The sign stage: the response again with the RRSIGs and denial records (DO=1, a signed zone), else as it was. */
function signStage<D extends DynamicName>(r: Responder<D>, ex: Exchange, response: Buffer): Buffer | null {
  const z = r.signing!.signs(ex);
  if (z === null) return response;
  try {
    return r.signing!.sign(ex, z, r.hooks.rotation, r.identity.nsid);
  } catch (e) {
    if (r.onError !== null) r.onError(e as Error, ex.msg);
    return writeServfail(ex);
  }
}

/** Every answered query counts, a rate-limited one too (truncated when it slipped); messages dropped unread do not. */
function observe<D extends DynamicName>(path: AnswerPath<D>, ex: Exchange, out: Buffer | null): void {
  const truncated = out !== null && ex.truncated;
  if (ex.response !== null)
    path.stats.add(ex.zone ?? '', ex.qtype, ex.rcode, ex.transport === 'tcp', truncated, (performance.now() - ex.started) / 1000);
  const action = ex.rrlAction;
  if (action !== 'send') path.metrics.rrlAction(action);
  if (path.logQueries) logQuery(path.log, ex, out, truncated);
}

/**
 * `log.queries: true`: one line per query (kept out of observe: the answer path stays small when it is off).
 * A message dropped unread has no question or rcode to tell.
 */
function logQuery(log: Logger, ex: Exchange, out: Buffer | null, truncated: boolean): void {
  const { address: client, transport } = ex;
  if (ex.query === null) log.info({ client, transport, dropped: true }, 'query');
  else {
    const fields = { client, transport, qname: ex.name, qtype: typeName(ex.qtype), rcode: rcodeName(ex.rcode) };
    log.info({ ...fields, tc: truncated || undefined, dropped: out ? undefined : true }, 'query');
  }
}

/**
 * The server's answer path: the zones of the current snapshot, pool names answered by the GSLB decision over
 * `health` (each decision counted, pools entering and leaving all_down logged), internal faults logged.
 */
export function gslbAnswerPath(
  snapshot: () => Snapshot,
  health: HealthTable,
  metrics: Metrics,
  log: Logger,
  config: AnswerPathConfig,
): AnswerPath<Pool> {
  const poolEvents = new PoolEvents(metrics, log);
  const gslb: GslbEnv = { health, rotation: new Rotation(), random: Math.random, onDecision: (pool, d) => poolEvents.decided(pool, d) };
  const hooks = { resolveDynamic: poolResolver(gslb, () => snapshot().geo), rotation: gslb.rotation };
  const responder = new Responder(snapshot, config, hooks);
  const signer = new Signer();
  responder.signing = new AnswerSigning(signer, snapshot);
  metrics.signing = () => signingNumbers(signer, snapshot().signing);
  responder.onError = (e, msg) => log.error({ err: e, query: msg.toString('base64') }, 'internal error answering a query');
  const path = new AnswerPath(responder, metrics, log, config);
  path.gslb = gslb;
  return path;
}
