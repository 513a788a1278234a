// The serial convergence layer: LTP over CCSDS TM code blocks on one serial line to one
// neighbour. Bytes read go through the Deframer (sync, de-randomise, RS) and the Depacketiser to
// the LTP engine, and each block it receives goes to the agent bundle by bundle, as over UDP
// (ltp/block-delivery.ts); segments the engine sends go through the FrameTransmitter, paced at the
// line rate. The contact is up while good frames arrive (the neighbour sends idle frames when it has
// nothing to say) and down after lossOfSignalMs without one; meanwhile LTP's timers wait, and
// the agent gets no link, so its bundles wait for the contact instead of failing.
import { SerialPort } from 'serialport';
import type { ConvergenceLayer, LinkOffer, ListenInfo } from '../cla.js';
import { CLA_EVENTS, ltpChannelDefs, SERIAL_CHANNELS, type LtpChannels, type SerialChannels } from '../dictionary.js';
import { deliverBlock } from '../ltp/block-delivery.js';
import { LtpEngine } from '../ltp/engine.js';
import { realTimers, type LtpTimers } from '../ltp/timers.js';
import type { LayerContext } from '../registry.js';
import type { SerialClaConfig } from './config.js';
import { SerialPacketError, SerialPortError } from './errors.js';
import { Deframer } from './frames.js';
import { Depacketiser } from './packets.js';
import { FrameTransmitter } from './transmitter.js';

export class SerialCla implements ConvergenceLayer {
  readonly kind = 'serial';
  readonly engine: LtpEngine;
  readonly channels: SerialChannels;
  readonly ltpChannels: LtpChannels;
  private readonly neighbour: number | undefined;
  private readonly transmitter: FrameTransmitter;
  private readonly deframer: Deframer;
  private port: SerialPort | undefined;
  private contact = false;
  private lossTimer: (() => void) | undefined;
  /** The node's or the bench's lockstep handler (flight/exec/lockstep.ts); none outside lockstep. */
  private lockstepHandler: ((payload: Uint8Array) => void) | undefined;

  constructor(private readonly config: SerialClaConfig, private readonly ctx: LayerContext, private readonly timers: LtpTimers = realTimers) {
    this.neighbour = ctx.neighbours[0]?.node;
    this.channels = ctx.tlm.defineAll(SERIAL_CHANNELS);
    this.ltpChannels = ctx.tlm.defineAll(ltpChannelDefs('cla.serial.ltp'));
    this.transmitter = new FrameTransmitter(config, config.baud, (bytes) => this.port?.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)), this.channels);
    this.engine = new LtpEngine({
      engineId: ctx.node,
      settings: config,
      timers,
      channels: this.ltpChannels,
      transmit: (segment) => this.transmitter.enqueue(segment),
      deliver: (block, engine) =>
        deliverBlock(block, engine, { cla: 'serial', address: config.device, port: 0, nodeId: `ipn:${engine}.0` }, { sink: ctx.sink, events: ctx.events, channels: this.ltpChannels }),
      knows: (engine) => engine === this.neighbour,
      linkUp: () => this.contact,
      events: ctx.events,
      log: ctx.log,
    });
    const packetError = (error: SerialPacketError): void => {
      this.ctx.events.emit(CLA_EVENTS.serialPacketError, { device: config.device, code: error.code, error: error.message });
    };
    const depacketiser = new Depacketiser(this.channels, (segment) => this.engine.receive(segment, config.device), packetError, (payload) => {
      if (this.lockstepHandler) return this.lockstepHandler(payload);
      this.channels.packetErrors.add();
      packetError(new SerialPacketError('SERIAL_NOT_LOCKSTEP', 'a lockstep packet, and this end of the line is not in lockstep'));
    });
    this.deframer = new Deframer(config, config.maxSyncErrors, this.channels, (frame) => {
      this.heard();
      depacketiser.onFrame(frame);
    });
  }

  async start(): Promise<ListenInfo> {
    const { device, baud, flowControl } = this.config;
    const port = new SerialPort({ path: device, baudRate: baud, rtscts: flowControl === 'rtscts', xon: flowControl === 'xonxoff', xoff: flowControl === 'xonxoff', autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(new SerialPortError(device, error.message)) : resolve())));
    this.port = port;
    port.on('data', (chunk: Buffer) => {
      this.channels.bytesIn.add(chunk.length);
      this.deframer.push(chunk);
    });
    port.on('error', (error: Error) => {
      this.ctx.events.emit(CLA_EVENTS.claFault, { where: `serial ${device}`, error: error.message });
      this.ctx.log.error({ err: error, device }, 'serial port error');
    });
    this.transmitter.start();
    this.ctx.events.emit(CLA_EVENTS.serialOpened, { device, baud, interleave: this.config.interleave, frameBytes: this.config.frameBytes });
    return { address: device, port: 0 };
  }

  link(node: number): LinkOffer | undefined {
    if (node !== this.neighbour || !this.contact) return undefined;
    return {
      link: { peer: { cla: 'serial', address: this.config.device, port: 0, nodeId: `ipn:${node}.0` }, send: (bytes) => this.engine.send(bytes, node) },
      maxBundleBytes: this.config.maxBlockBytes,
    };
  }

  /** Takes lockstep packets from the line; without a handler they are refused and counted. */
  onLockstep(handler: (payload: Uint8Array) => void): void {
    this.lockstepHandler = handler;
  }

  /** Sends a lockstep packet, ahead of queued data; resolves once it is on the line. */
  sendLockstep(payload: Uint8Array): Promise<void> {
    return this.transmitter.enqueueLockstep(payload);
  }

  maintain(): void {}

  counters(): Record<string, number> {
    return Object.fromEntries([...Object.values(this.channels), ...Object.values(this.ltpChannels)].map((c) => [c.def.name, c.value]));
  }

  async close(): Promise<void> {
    this.lossTimer?.();
    this.engine.close();
    this.transmitter.stop();
    const port = this.port;
    this.port = undefined;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  /** A good frame arrived: the contact is up, until lossOfSignalMs pass without another. */
  private heard(): void {
    this.lossTimer?.();
    this.lossTimer = this.timers.after(this.config.lossOfSignalMs, () => this.setContact(false));
    if (!this.contact) this.setContact(true);
  }

  private setContact(up: boolean): void {
    this.contact = up;
    this.channels.contactUp.set(up ? 1 : 0);
    this.ctx.events.emit(CLA_EVENTS.serialContact, { device: this.config.device, state: up ? 'up' : 'down' });
    this.ctx.contact(this.neighbour, up);
  }
}
