import { describe, expect, it } from 'vitest';
import { Fields } from '../../flight/config/fields.js';
import { ConfigError } from '../../flight/errors.js';
import { parseStaticRoutes } from '../../flight/route/router.js';

const f = new Fields('m.json');

describe('static routes', () => {
  it('routes by destination, falls back to the default route, and lists neighbours', () => {
    const r = parseStaticRoutes(f, { '3': 2, '4': 2, '*': 9 }, 'routes');
    expect(r.nextHop(3, 0)).toBe(2);
    expect(r.nextHop(77, 0)).toBe(9);
    expect(r.neighbours().sort()).toEqual([2, 9]);
    expect(parseStaticRoutes(f, undefined, 'routes').nextHop(3, 0)).toBeUndefined();
  });

  it('names the bad entry', () => {
    expect(() => parseStaticRoutes(f, { abc: 2 }, 'routes')).toThrow(ConfigError);
    expect(() => parseStaticRoutes(f, { abc: 2 }, 'routes')).toThrow('m.json: routes.abc: expected a destination node number or "*"');
    expect(() => parseStaticRoutes(f, { '3': 0 }, 'routes')).toThrow('m.json: routes.3: expected an integer');
  });
});
