// Fragments for this node, held until their whole bundle can be delivered. Each fragment stays
// in the store until then: after a crash, resume() feeds the stored fragments again.
import { aduKey, type Bundle } from '../bundle.js';
import { Reassembler } from '../fragment.js';
import type { AgentContext } from './context.js';

export class FragmentHold {
  private readonly reassembler = new Reassembler();
  /** Store ids of the fragments held for each partial bundle (by ADU key). */
  private readonly fragmentIds = new Map<string, string[]>();

  constructor(private readonly ctx: AgentContext) {}

  /**
   * Adds the fragment stored as `id`: the whole bundle and the store ids of all its fragments
   * once it is complete, undefined while parts are missing. Throws the reassembler's
   * BundleError when the fragment cannot be held.
   */
  add(id: string, fragment: Bundle): { bundle: Bundle; ids: string[] } | undefined {
    const adu = aduKey(fragment);
    const held = [...(this.fragmentIds.get(adu) ?? []), id];
    const whole = this.reassembler.add(fragment, this.ctx.now());
    if (!whole) {
      this.fragmentIds.set(adu, held);
      return undefined;
    }
    this.fragmentIds.delete(adu);
    this.ctx.bundleTlm.channels.reassembled.add();
    return { bundle: whole, ids: held };
  }

  /** Drops partial bundles past the reassembly timeout (at most maxBundles of them to look at). */
  expire(now: number): void {
    const dropped = this.reassembler.expire(now);
    if (dropped > 0) this.ctx.bundleTlm.channels.reassemblyTimeouts.add(dropped);
  }
}
