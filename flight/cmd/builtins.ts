// Handlers of the built-in commands commanding owns (NOOP, PING, CLEAR_COUNTERS, SET_PARAM,
// GET_PARAM, OPERATOR_*), and the SET_MODE binding for the executive. SEQ_* come from the
// sequencer, FILE_DELETE from the file service (uplink.ts); LIST_BUNDLES is bound by the
// composition root to the bundle store.
import type { CommandBinding } from './commands.js';
import type { Dispatcher } from './dispatcher.js';
import { CMD_COMMANDS } from './dictionary.js';
import { CommandFailed } from './errors.js';
import type { OperatorKeys } from './operators.js';
import type { ParameterStore } from './params.js';

type BuiltinName = 'NOOP' | 'PING' | 'CLEAR_COUNTERS' | 'SET_PARAM' | 'GET_PARAM' | 'OPERATOR_ADD' | 'OPERATOR_REVOKE' | 'OPERATOR_ROTATE';

export function builtinBindings(dispatcher: Dispatcher, params: ParameterStore, keys: OperatorKeys): Record<BuiltinName, CommandBinding> {
  const keyChange = (opcode: number): CommandBinding => ({
    handler: (args, context) => {
      // Only the dispatcher's k-of-n path gets here with an authorization to log.
      if (!context.authorization) throw new CommandFailed('key changes need the signed envelope that approved them');
      return { change: keys.apply(opcode, args, context.authorization) };
    },
  });
  return {
    NOOP: { handler: () => undefined },
    PING: { handler: (args, context) => ({ token: args.token, timeMs: context.nowMs }) },
    CLEAR_COUNTERS: {
      handler: () => {
        dispatcher.clearCounters();
        return undefined;
      },
    },
    SET_PARAM: {
      handler: (args) => {
        const name = args.param as string;
        const { was } = params.set(name, args.value as number);
        return { param: name, value: params.get(name), was };
      },
      critical: (args) => params.def(args.param as string)?.criticality === 'critical',
    },
    GET_PARAM: {
      handler: (args) => {
        const name = args.param as string;
        if (!params.def(name)) throw new CommandFailed(`no parameter ${JSON.stringify(name)}`);
        return { param: name, value: params.get(name) };
      },
    },
    OPERATOR_ADD: keyChange(CMD_COMMANDS.operatorAdd.opcode),
    OPERATOR_REVOKE: keyChange(CMD_COMMANDS.operatorRevoke.opcode),
    OPERATOR_ROTATE: keyChange(CMD_COMMANDS.operatorRotate.opcode),
  };
}

/** What SET_MODE needs of the executive (flight/exec/executive.ts has both). */
export interface ModeControl {
  readonly modeName: string;
  requestMode(mode: string, reason: string): void;
}

/** SET_MODE: critical when leaving SAFE (returning to operations needs k operators). */
export function setModeBinding(exec: ModeControl): CommandBinding {
  return {
    handler: (args, context) => {
      const from = exec.modeName;
      exec.requestMode(args.mode as string, `SET_MODE by operator ${context.operator}`);
      return { from, to: args.mode };
    },
    critical: (args) => exec.modeName === 'SAFE' && args.mode !== 'SAFE',
  };
}
