import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../flight/exec/clock.js';
import { runVirtual } from '../../flight/exec/virtual.js';
import { HealthMonitor } from '../../flight/exec/health.js';
import { Watchdog } from '../../flight/exec/watchdog.js';
import { createRootLogger } from '../../flight/log.js';
import { EventLog, type EventRecord } from '../../flight/tlm/events.js';
import { harness, modes } from '../support/exec.js';
import { notifySocket, type NotifySocket } from '../support/notify-socket.js';
import { until } from '../support/wait.js';

const silent = createRootLogger({ level: 'silent' });
let socket: NotifySocket | undefined;
afterEach(() => socket?.close());

/** Lets ping answers (promise callbacks) run between virtual major frames. */
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

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
    // The executive stalls: no more frames complete, so no more kicks are made.
    expect(dog.kicks).toBe(10);
  });

  it('kicks only while every component answers its health ping, and again once it answers', async () => {
    socket = await notifySocket();
    const dog = new Watchdog({ NOTIFY_SOCKET: socket.path, WATCHDOG_USEC: '200000' }, silent); // kick every 100 ms
    const h = harness({ modes: modes(10, [[], [], [], [], []]) }, () => []); // 50 ms major frames
    const events: EventRecord[] = [];
    const log = new EventLog(silent, () => h.clock.nowUs());
    log.onEvent((e) => events.push(e));
    const health = new HealthMonitor(h.clock, h.tlm, log);
    let answering = true;
    const hung: Array<() => void> = [];
    health.register({ name: 'store.flush', deadlineUs: 100_000, everyUs: 50_000, ping: () => Promise.resolve() });
    health.register({
      name: 'session.worker', deadlineUs: 100_000, everyUs: 50_000,
      ping: () => (answering ? Promise.resolve() : new Promise<void>((resolve) => hung.push(resolve))),
    });
    h.exec.onMajorFrame(() => {
      if (health.check()) dog.kick(h.clock.nowUs());
    });
    const runUntil = async (us: number): Promise<void> => {
      while (h.exec.nextDeadlineUs() <= us) {
        runVirtual(h.exec, h.clock, h.exec.nextDeadlineUs());
        await turn();
      }
    };
    await health.ready();
    await runUntil(1_000_000 - 1);
    expect(dog.kicks).toBe(10);
    // The worker stops answering: once its ping is overdue (100 ms), no kick goes out for a second.
    answering = false;
    await runUntil(1_150_000 - 1);
    const atDeadline = dog.kicks;
    expect(atDeadline).toBeLessThanOrEqual(12);
    await runUntil(2_150_000 - 1);
    expect(dog.kicks).toBe(atDeadline);
    expect(h.value('exec.health.unhealthy')).toBe(1);
    expect(events.map((e) => e.message)).toContain('session.worker has not answered its health ping within 100 ms: watchdog kicks stop');
    // It answers again: kicks resume.
    answering = true;
    for (const resolve of hung.splice(0)) resolve();
    await turn();
    await runUntil(2_650_000 - 1);
    expect(dog.kicks).toBeGreaterThan(atDeadline);
    expect(h.value('exec.health.unhealthy')).toBe(0);
    expect(events.map((e) => e.name)).toContain('EXEC_HEALTH_ANSWERED');
    await socket.waitFor('WATCHDOG=1', dog.kicks);
  });

  it('reports a component whose ping fails as unhealthy until a ping answers', async () => {
    const h = harness({ modes: modes(10, [[]]) }, () => []);
    const health = new HealthMonitor(h.clock, h.tlm, new EventLog(silent, () => h.clock.nowUs()));
    let fail = true;
    health.register({ name: 'store.flush', deadlineUs: 100_000, everyUs: 10_000, ping: () => (fail ? Promise.reject(new Error('EIO')) : Promise.resolve()) });
    await expect(health.ready()).rejects.toThrow('EIO');
    expect(health.check()).toBe(false);
    fail = false;
    h.clock.advance(10_000);
    health.check(); // sends the next ping
    await turn();
    expect(health.check()).toBe(true);
  });

  it('is a no-op without NOTIFY_SOCKET', async () => {
    const dog = new Watchdog({}, silent);
    dog.ready();
    dog.kick(0);
    expect(dog.enabled).toBe(false);
    expect(dog.kicks).toBe(0);
    expect(dog.sent).toBe(0);
  });

  it('counts and logs a failed notification', async () => {
    const dog = new Watchdog({ NOTIFY_SOCKET: '/nonexistent/notify.sock', WATCHDOG_USEC: '1000' }, silent, 'false');
    dog.ready();
    await until(() => dog.failures > 0, 'the failed notification');
    expect(dog.failures).toBe(1);
  });
});
