import { describe, expect, it } from 'vitest';
import { Fields } from '../../flight/config/fields.js';
import { ConfigError } from '../../flight/errors.js';
import { parseStaticRoutes } from '../../flight/route/router.js';

const f = new Fields('m.json');

describe('static routes', () => {
  it('routes by destination, falls back to the default route, and lists neighbours', () => {
    const r = parseStaticRoutes(f, { '3': 2, '4': 2, '*': 9 }, 'routes');
    expect(r.nextHop(3)).toBe(2);
    expect(r.nextHop(77)).toBe(9);
    expect(r.neighbours().sort()).toEqual([2, 9]);
    expect(parseStaticRoutes(f, undefined, 'routes').nextHop(3)).toBeUndefined();
  });

  it('sends to a destination a session is up with first, else to the next hop while a session with it is up', () => {
    const r = parseStaticRoutes(f, { '3': 2, '*': 9 }, 'routes');
    const facts = (destination: number) => ({ destination, sizeBytes: 10, priority: 1 as const, expiryMs: Infinity });
    const up = (nodes: number[]) => (n: number) => nodes.includes(n);
    expect(r.route(facts(3), 0, up([2, 3]))).toEqual({ nextHop: 3 });
    expect(r.route(facts(3), 0, up([2]))).toEqual({ nextHop: 2 });
    expect(r.route(facts(3), 0, up([9]))).toBeUndefined(); // its next hop has no session: limbo
    expect(r.route(facts(77), 0, up([9]))).toEqual({ nextHop: 9 });
    expect(r.contactOpen()).toBe(true); // no plan: links are never held back
  });

  it('names the bad entry', () => {
    expect(() => parseStaticRoutes(f, { abc: 2 }, 'routes')).toThrow(ConfigError);
    expect(() => parseStaticRoutes(f, { abc: 2 }, 'routes')).toThrow('m.json: routes.abc: expected a destination node number or "*"');
    expect(() => parseStaticRoutes(f, { '3': 0 }, 'routes')).toThrow('m.json: routes.3: expected an integer');
  });
});
