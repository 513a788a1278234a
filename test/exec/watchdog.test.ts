import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../flight/exec/clock.js';
import { runVirtual } from '../../flight/exec/virtual.js';
import { Watchdog } from '../../flight/exec/watchdog.js';
import { createRootLogger } from '../../flight/log.js';
import { harness, modes } from '../support/exec.js';
import { notifySocket, type NotifySocket } from '../support/notify-socket.js';

const silent = createRootLogger({ level: 'silent' });
let socket: NotifySocket | undefined;
afterEach(() => socket?.close());

const settle = (ms = 300): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('sd_notify watchdog', () => {
  it('sends READY=1, STOPPING=1 and WATCHDOG=1 over a real unix datagram socket', async () => {
    socket = await notifySocket();
    const dog = new Watchdog({ NOTIFY_SOCKET: socket.path, WATCHDOG_USEC: '2000000' }, silent);
    dog.ready();
    await socket.waitFor('READY=1');
    dog.kick(0);
    await socket.waitFor('WATCHDOG=1');
    dog.stopping();
    await socket.waitFor('STOPPING=1');
    expect(dog.failures).toBe(0);
  });

  it('kicks at half the watchdog period, only while major frames complete', async () => {
    socket = await notifySocket();
    const dog = new Watchdog({ NOTIFY_SOCKET: socket.path, WATCHDOG_USEC: '200000' }, silent); // 200 ms
    const h = harness({ modes: modes(10, [[], [], [], [], []]) }, () => []); // 50 ms major frames
    const clock: VirtualClock = h.clock;
    h.exec.onMajorFrame(() => dog.kick(clock.nowUs()));
    runVirtual(h.exec, clock, 1_000_000 - 1); // 1 s of frames: 20 major frames
    await socket.waitFor('WATCHDOG=1', 10);
    // The executive stalls: no more frames complete, so no more kicks go out.
    await settle();
    expect(socket.messages.filter((m) => m === 'WATCHDOG=1')).toHaveLength(10);
  });

  it('is a no-op without NOTIFY_SOCKET', async () => {
    const dog = new Watchdog({}, silent);
    dog.ready();
    dog.kick(0);
    await settle(50);
    expect(dog.enabled).toBe(false);
    expect(dog.sent).toBe(0);
  });

  it('counts and logs a failed notification', async () => {
    const dog = new Watchdog({ NOTIFY_SOCKET: '/nonexistent/notify.sock', WATCHDOG_USEC: '1000' }, silent, 'false');
    dog.ready();
    for (let i = 0; i < 50 && dog.failures === 0; i++) await settle(20);
    expect(dog.failures).toBe(1);
  });
});
