// Typed errors of flight/route. A contact plan, orbital elements or a station file that is wrong
// is refused whole with an error naming where (file, line or field) and what was expected, so an
// operator can fix the file; `code` is the telemetry counter key.
import { describe, TernError } from '../errors.js';

function render(got: unknown): string {
  return typeof got === 'string' ? (got.length > 60 ? `${got.slice(0, 57)}...` : got) : describe(got);
}

/** An input file refused whole: `where` in `source` was not what was `expected`. */
abstract class RouteInputError extends TernError {
  constructor(
    readonly source: string,
    readonly where: string,
    readonly expected: string,
    readonly got?: unknown,
  ) {
    super(`${source}: ${where}: expected ${expected}` + (got === undefined ? '' : `, got ${render(got)}`));
  }
}

/** A contact plan is invalid: `where` is "line N" (ION) or a field path such as "contacts[3].end". */
export class ContactPlanError extends RouteInputError {
  readonly code = 'ROUTE_PLAN_INVALID';
  override readonly name = 'ContactPlanError';
}

/** Orbital elements (TLE, OMM) or ground stations that cannot be used for prediction. */
export class OrbitInputError extends RouteInputError {
  readonly code = 'ROUTE_ORBIT_INVALID';
  override readonly name = 'OrbitInputError';
}

/** A command-line argument to `tern route` is missing or malformed. */
export class RouteArgumentError extends TernError {
  readonly code = 'ROUTE_BAD_ARGUMENT';
  constructor(
    readonly option: string,
    readonly expected: string,
    readonly got?: unknown,
  ) {
    super(`--${option}: expected ${expected}` + (got === undefined ? '' : `, got ${render(got)}`));
    this.name = 'RouteArgumentError';
  }
}
