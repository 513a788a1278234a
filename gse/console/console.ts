// The ground console assembled: it joins the ground network as the ground node (as `gse tlm`
// does), archives every item each bundle brings before the bundle is acknowledged (ingest.ts), keeps the
// live view and serves the page. The operator's key, if given, signs commands here, on the
// operator's machine; it is the only secret key the console ever holds (DESIGN.md).
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TcpclTls } from '../../flight/cla/tcpcl-tls.js';
import type { Signer } from '../../flight/cmd/envelope.js';
import type { Dictionary } from '../../flight/cmd/export.js';
import type { MlDsa } from '../../flight/cmd/mldsa.js';
import type { Logger } from '../../flight/log.js';
import { listenAsGround, transmit, type Address, type GroundListener } from '../transport.js';
import { Archive, ArchiveError, type ArchiveOptions } from './archive.js';
import { Sessions } from './auth.js';
import { CommandDesk } from './desk.js';
import { GroundIngest } from './ingest.js';
import { LiveState } from './live.js';
import type { ContactsView } from './timeline.js';
import { consoleHandler, type ConsoleContext, type GroundCounters } from './server.js';

export interface ConsoleOptions {
  /** The page's address. */
  readonly listen: Address;
  /** The ground network address (TCPCLv4 and UDP) and the ground's node number. */
  readonly dtn: Address;
  readonly node: number;
  readonly archiveDir: string;
  readonly archive?: ArchiveOptions;
  readonly dictionary: Dictionary;
  readonly dsa: MlDsa;
  readonly signer?: Signer & { readonly name: string; readonly file: string };
  /** The ground station that takes command bundles. */
  readonly via?: Address;
  readonly cla?: 'tcp' | 'udp';
  readonly tls?: { readonly cert: string; readonly key: string };
  /** TLS for the ground network's TCPCLv4 sessions (the console's node with its stations). */
  readonly dtnTls?: TcpclTls;
  readonly users?: Map<string, string>;
  /** The mission's contact plan on the nodes' clock, for the Contacts page. */
  readonly contacts?: ContactsView;
  readonly log: Logger;
  /** Each received record as one JSON line, as `gse tlm` prints them (the terminal's view). */
  readonly print?: (line: string) => void;
}

/** How often the archive's retention runs a bounded step. */
const RETENTION_EVERY_MS = 10_000;

export class GroundConsole {
  private constructor(
    readonly url: string,
    readonly loginUrl: string,
    readonly dtnPort: number,
    readonly archive: Archive,
    readonly counters: GroundCounters,
    private readonly server: Server,
    private readonly ground: GroundListener,
    private readonly live: LiveState,
    private readonly timers: NodeJS.Timeout[],
  ) {}

  static async start(o: ConsoleOptions): Promise<GroundConsole> {
    const archive = new Archive(o.archiveDir, o.archive);
    const live = new LiveState(o.dictionary);
    const counters: GroundCounters = { bundles: 0, items: 0, malformed: 0, archiveErrors: 0 };
    const secure = o.tls !== undefined;
    const sessions = new Sessions({
      origin: '', secure, ...(o.users ? { users: o.users } : {}),
      tokenUser: o.signer ? o.signer.name : 'operator',
    });
    const desk = new CommandDesk({
      dictionary: o.dictionary, archive, dsa: o.dsa, ...(o.signer ? { signer: o.signer } : {}),
      transmit: (envelope, target, expiryMs) => transmit(envelope, target, { expiryMs, from: o.node, ...(o.via ? { via: o.via } : {}), ...(o.cla ? { cla: o.cla } : {}) }),
      onChange: () => live.publish('held', desk.heldCommands()),
    });
    const ctx: ConsoleContext = { dictionary: o.dictionary, archive, live, desk, sessions, counters, log: o.log, ...(o.contacts ? { contacts: o.contacts } : {}) };
    const handler = consoleHandler(ctx);
    const server = o.tls ? createHttpsServer({ cert: readFileSync(o.tls.cert), key: readFileSync(o.tls.key) }, handler) : createHttpServer(handler);
    let ground: GroundListener | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(o.listen.port, o.listen.host, () => resolve());
      });
      const port = (server.address() as AddressInfo).port;
      const host = o.listen.host.includes(':') ? `[${o.listen.host}]` : o.listen.host;
      sessions.options.origin = `${secure ? 'https' : 'http'}://${host}:${port}`;
      const ingest = new GroundIngest(archive, live, counters, o.log, o.print);
      ground = await listenAsGround(o.node, o.dtn, (payload, from, source) => ingest.payload(payload, from, source), (why) => o.log.warn({ why }, 'bundle refused'), o.dtnTls);
    } catch (error) {
      server.close();
      archive.close();
      throw error;
    }
    // The page's status line: the ground counters once a second while bundles come in.
    let shown = -1;
    const status = setInterval(() => {
      if (counters.bundles === shown) return;
      shown = counters.bundles;
      live.publish('status', counters);
    }, 1000);
    status.unref();
    const retention = setInterval(() => {
      try {
        archive.expire();
      } catch (error) {
        if (!(error instanceof ArchiveError)) throw error;
        o.log.error({ code: error.code, err: error.message }, 'archive retention step failed');
      }
    }, RETENTION_EVERY_MS);
    retention.unref();
    const url = `${sessions.options.origin}/`;
    return new GroundConsole(url, `${sessions.options.origin}/login?token=${sessions.loginToken}`, ground.tcpPort, archive, counters, server, ground, live, [status, retention]);
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.live.close();
    await this.ground.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    this.archive.close();
  }
}
