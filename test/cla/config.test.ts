import { describe, expect, it } from 'vitest';
import { Fields } from '../../flight/config/fields.js';
import { parseClaConfig } from '../../flight/cla/config.js';
import { ConfigError } from '../../flight/errors.js';

const f = new Fields('mission.json');
const parse = (raw: unknown): ReturnType<typeof parseClaConfig> => parseClaConfig(f, raw, 'cla');

describe('cla config section', () => {
  it('defaults listeners to 127.0.0.1:4556 and fills every limit', () => {
    expect(parse({ udp: {}, tcp: {} })).toEqual({
      udp: { listen: { host: '127.0.0.1', port: 4556 }, maxDatagramBytes: 65_507, maxInboundPending: 64 },
      tcp: {
        listen: { host: '127.0.0.1', port: 4556 },
        keepaliveS: 15, segmentMru: 1 << 20, transferMru: 16 << 20, maxInboundPending: 4, maxSessions: 16,
        maxPendingConnections: 256, maxPendingPerAddress: 128, contactTimeoutMs: 2000,
        handshakeTimeoutMs: 10_000, transferTimeoutMs: 60_000, closeTimeoutMs: 5_000,
      },
      neighbours: [],
    });
    expect(parse(undefined)).toEqual({ neighbours: [] });
  });

  it('reads listeners, limits and neighbours', () => {
    const config = parse({
      udp: { listen: false, maxDatagramBytes: 1500 },
      tcp: { listen: '[::1]:4557', keepaliveS: 0, segmentMru: 65536, transferMru: 65536 },
      neighbours: { 2: { cla: 'tcp', address: '127.0.0.1:4558' }, 17: { cla: 'udp', address: '[::1]:4556' } },
    });
    expect(config.udp).toEqual({ maxDatagramBytes: 1500, maxInboundPending: 64 });
    expect(config.tcp?.listen).toEqual({ host: '::1', port: 4557 });
    expect(config.tcp?.keepaliveS).toBe(0);
    // Limits that would exceed the one they live within default to it.
    expect(parse({ tcp: { handshakeTimeoutMs: 1000, maxPendingConnections: 8 } }).tcp).toMatchObject({
      contactTimeoutMs: 1000, maxPendingConnections: 8, maxPendingPerAddress: 8,
    });
    expect(config.neighbours).toEqual([
      { node: 2, cla: 'tcp', host: '127.0.0.1', port: 4558 },
      { node: 17, cla: 'udp', host: '::1', port: 4556 },
    ]);
  });

  it('reads LTP and serial sections with ION-like defaults, and their neighbours', () => {
    const config = parse({
      ltp: { listen: '127.0.0.1:0', oneWayLightTimeMs: 5 },
      serial: { device: '/dev/ttyS1', baud: 9600, interleave: 2, frameBytes: 400 },
      neighbours: { 2: { cla: 'ltp', address: '127.0.0.1:1113' }, 3: { cla: 'serial' } },
    });
    expect(config.ltp).toEqual({
      listen: { host: '127.0.0.1', port: 0 }, segmentBytes: 1024, oneWayLightTimeMs: 5, marginMs: 500, maxRetries: 10,
      maxExportSessions: 8, maxImportSessions: 64, maxBlockBytes: 1 << 20, sessionTimeoutMs: 60_000,
    });
    expect(parse({ ltp: {} }).ltp?.listen).toEqual({ host: '127.0.0.1', port: 1113 });
    // A code block of 4 + 400 + 64 bytes takes 487.5 ms at 9600 baud: light time is three of them.
    expect(config.serial).toMatchObject({ device: '/dev/ttyS1', baud: 9600, flowControl: 'none', interleave: 2, frameBytes: 400, oneWayLightTimeMs: 1464, spacecraftId: 0 });
    expect(config.neighbours).toEqual([
      { node: 2, cla: 'ltp', host: '127.0.0.1', port: 1113 },
      { node: 3, cla: 'serial' },
    ]);
  });

  it('names the field of every mistake', () => {
    const cases: Array<[unknown, string]> = [
      [{ tcp: { listen: 'localhost:4556' } }, 'mission.json: cla.tcp.listen: expected an IP address and port'],
      [{ tcp: { listen: '127.0.0.1:70000' } }, 'cla.tcp.listen: expected an IP address and port'],
      [{ udp: { maxDatagramBytes: 70_000 } }, 'cla.udp.maxDatagramBytes: expected an integer in [1, 65507]'],
      [{ tcp: { segmentMru: 4096, transferMru: 1000 } }, 'cla.tcp.transferMru: expected an integer in [4096,'],
      [{ tcp: { keepalive: 5 } }, 'cla.tcp.keepalive: expected a known field'],
      [{ tcp: {}, neighbours: { two: { cla: 'tcp', address: '127.0.0.1:1' } } }, 'cla.neighbours.two: expected a key that is an ipn node number'],
      [{ tcp: {}, neighbours: { 2: { cla: 'udp', address: '127.0.0.1:1' } } }, 'cla.neighbours.2.cla: expected a convergence layer configured in cla.udp'],
      [{ tcp: {}, neighbours: { 2: { cla: 'ltp', address: '127.0.0.1:1' } } }, 'cla.neighbours.2.cla: expected a convergence layer configured in cla.ltp'],
      [{ tcp: {}, neighbours: { 2: { cla: 'smoke', address: '127.0.0.1:1' } } }, 'cla.neighbours.2.cla: expected one of udp, tcp, ltp, serial'],
      [{ ltp: { segmentBytes: 70_000 } }, 'cla.ltp.segmentBytes: expected an integer in [64, 65507]'],
      [{ ltp: { listen: 'anywhere' } }, 'cla.ltp.listen: expected an IP address and port'],
      [{ ltp: { listen: false } }, 'cla.ltp.listen: expected an address to listen on'],
      [{ serial: {} }, 'cla.serial.device: expected a non-empty string'],
      [{ serial: { device: 'COM1' } }, 'cla.serial.device: expected a string matching'],
      [{ serial: { device: '/dev/ttyS1', interleave: 6 } }, 'cla.serial.interleave: expected one of 1, 2, 3, 4, 5, 8'],
      [{ serial: { device: '/dev/ttyS1', interleave: 4, frameBytes: 1000 } }, 'cla.serial.frameBytes: expected an integer in [16, 892]'],
      [{ serial: { device: '/dev/ttyS1', interleave: 4, frameBytes: 890 } }, 'cla.serial.frameBytes: expected a multiple of the interleave 4'],
      [{ serial: { device: '/dev/ttyS1', flowControl: 'dtr' } }, 'cla.serial.flowControl: expected one of none, rtscts, xonxoff'],
      [{ serial: { device: '/dev/ttyS1' }, neighbours: { 2: { cla: 'serial', address: '127.0.0.1:1' } } }, 'cla.neighbours.2.address: expected no address'],
      [{ serial: { device: '/dev/ttyS1' }, neighbours: { 2: { cla: 'serial' }, 3: { cla: 'serial' } } }, 'cla.neighbours: expected at most one neighbour over the serial link'],
      [{ tcp: {}, neighbours: { 2: { cla: 'tcp', address: '127.0.0.1:0' } } }, 'cla.neighbours.2.address: expected an IP address and port'],
      [{ bluetooth: {} }, 'cla.bluetooth: expected a known field'],
      [{ tcp: { contactTimeoutMs: 50 } }, 'cla.tcp.contactTimeoutMs: expected an integer in [100, 10000]'],
      [{ tcp: { handshakeTimeoutMs: 1000, contactTimeoutMs: 2000 } }, 'cla.tcp.contactTimeoutMs: expected an integer in [100, 1000]'],
      [{ tcp: { maxPendingConnections: 0 } }, 'cla.tcp.maxPendingConnections: expected an integer in [1, 65536]'],
      [{ tcp: { maxPendingConnections: 16, maxPendingPerAddress: 17 } }, 'cla.tcp.maxPendingPerAddress: expected an integer in [1, 16]'],
    ];
    for (const [raw, message] of cases) {
      expect(() => parse(raw)).toThrow(ConfigError);
      expect(() => parse(raw)).toThrow(message);
    }
  });
});
