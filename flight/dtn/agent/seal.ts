// BPSec on the links with session peers: the BCB this node adds to a bundle leaving for a peer
// (or for a node behind a peer that is its gateway), and the opening of BCBs for this node, at
// delivery or at a gateway before it forwards.
import { BlockType, payloadBlock, type Bundle } from '../bundle.js';
import { BundleError } from '../bundle-error.js';
import { decryptBundle, encryptBundle } from '../bpsec.js';
import { ipn } from '../eid.js';
import type { SecurityKey } from '../keys.js';
import { SERVICE, type AgentContext, type BcbSessions } from './context.js';

export class Sealing {
  private sessions: BcbSessions | undefined;

  constructor(private readonly ctx: AgentContext, private readonly keys: readonly SecurityKey[]) {}

  use(sessions: BcbSessions): void {
    this.sessions = sessions;
  }

  /** Whether this node opens bundles for `node` before forwarding them. */
  gatewayFor(node: number): boolean {
    return this.sessions?.gatewayFor(node) ?? false;
  }

  /**
   * The bundle as it leaves for a session peer (or a node behind one): its payload under a BCB
   * for that peer with this node as the security source, sealed again at every send (a fresh IV
   * each time) while the stored copy stays as it came. Undefined while the session is being
   * made: the bundle waits rather than go out in clear. A payload already under a BCB (its
   * source or an earlier node sealed it) goes as it is;
   * so do fragments (a waypoint cannot seal a part of a payload the destination reassembles) and
   * a payload whose BIB also covers other blocks (encrypting the BIB would hide those blocks'
   * protection): both counted in dtn.bcb.clear.
   */
  protect(bundle: Bundle, to: { node: number; service: number }): Bundle | undefined {
    const sessions = this.sessions;
    const acceptor = sessions && to.service !== SERVICE.session ? sessions.acceptor(to.node) : undefined;
    if (acceptor === undefined) return bundle;
    const payload = payloadBlock(bundle).number;
    if (bundle.encrypted.has(payload)) return bundle;
    const coveredWithOthers = bundle.security.some((s) => s.block.type === BlockType.integrity && s.asb?.targets.includes(payload) && s.asb.targets.length > 1);
    if (bundle.primary.fragment || coveredWithOthers) {
      this.ctx.ch.bcbClear.add();
      return bundle;
    }
    const session = sessions!.sealFor(acceptor);
    if (!session) return undefined;
    const sealed = encryptBundle(bundle, { key: session.key, source: ipn(this.ctx.node, 0), targets: [payload], nextIv: () => session.nextIv() });
    this.ctx.ch.bcbSealed.add();
    return sealed;
  }

  /** The bundle with the BCBs this node holds keys for removed; a payload still sealed is an error. */
  open(bundle: Bundle): Bundle {
    if (bundle.encrypted.size === 0) return bundle;
    const keys = this.sessions ? [...this.keys, ...this.sessions.openingKeys()] : this.keys;
    const payload = payloadBlock(bundle).number;
    try {
      const { bundle: plain, results } = decryptBundle(bundle, keys);
      this.ctx.bundleTlm.security(results);
      if (plain.encrypted.has(payload)) {
        throw new BundleError('BPSEC_CONFIDENTIALITY', 'payload', `no key held opens the BCB over the payload (security source ${results.find((r) => r.target === payload)?.source ?? 'unknown'})`);
      }
      return plain;
    } catch (error) {
      if (error instanceof BundleError && error.code === 'BPSEC_CONFIDENTIALITY') this.askForKeys(bundle, payload);
      throw error;
    }
  }

  /**
   * The node of the BCB over the payload whose security source is a node's administrative
   * endpoint (ipn:P.0, as session peers seal): once open() succeeded, P sealed it.
   */
  sealer(bundle: Bundle): number | undefined {
    const payload = payloadBlock(bundle).number;
    for (const { block, asb } of bundle.security) {
      if (block.type !== BlockType.confidentiality || !asb?.targets.includes(payload)) continue;
      if (asb.source.scheme === 'ipn' && asb.source.service === 0) return asb.source.node;
    }
    return undefined;
  }

  /** Session peers whose BCB over the payload did not open here are asked for new keys. */
  private askForKeys(bundle: Bundle, payload: number): void {
    for (const { block, asb } of bundle.security) {
      if (block.type !== BlockType.confidentiality || !asb?.targets.includes(payload)) continue;
      if (asb.source.scheme === 'ipn' && asb.source.service === 0) this.sessions?.unreadable(asb.source.node);
    }
  }
}
