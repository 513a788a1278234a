// Hands a received LTP block to the agent, bundle by bundle: what every LTP link (UDP, serial)
// does with a block once its red part is whole, so both links split and refuse the same way.
import type { BundleSink, PeerInfo } from '../cla.js';
import { CLA_EVENTS, type LtpChannels } from '../dictionary.js';
import { BundleRefusedError } from '../errors.js';
import type { EventLog } from '../../tlm/events.js';
import { splitBundles } from './bundles.js';

export interface BlockReceiver {
  readonly sink: BundleSink;
  readonly events: EventLog;
  readonly channels: LtpChannels;
}

/**
 * Hands the bundles of a block to the agent (ION aggregates several bundles in one block). The
 * block counts as received once the agent has decided on every bundle of it: held, or refused for
 * good ('not-acceptable': the agent deleted it and reported why). Only a refusal for now
 * ('no-resources') rejects the block, so the engine cancels the session and the sender keeps the
 * bundles. Cancelling for a bundle that will never be taken would not help: ION answers a
 * cancelled session by forwarding the same bundles again at once, without end. A block that is not
 * whole bundles is an LtpBlockError, counted (`badBlocks`), and none of it is delivered.
 */
export async function deliverBlock(block: Uint8Array, engine: number, from: PeerInfo, to: BlockReceiver): Promise<void> {
  let bundles: Uint8Array[];
  try {
    bundles = splitBundles(block);
  } catch (error) {
    to.channels.badBlocks.add();
    to.events.emit(CLA_EVENTS.ltpBadBlock, { engine, bytes: block.length, error: (error as Error).message });
    throw error;
  }
  const verdicts = await Promise.allSettled(bundles.map((bundle) => to.sink.accept(bundle, from)));
  const retry = verdicts.find((v): v is PromiseRejectedResult =>
    v.status === 'rejected' && !(v.reason instanceof BundleRefusedError && v.reason.reason === 'not-acceptable'));
  if (retry) throw retry.reason;
}
