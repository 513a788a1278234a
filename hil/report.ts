// Reports of a run: JUnit XML (one testcase per scenario; a failure names the step and what was
// seen) and the short terminal summary.
import { writeFileSync } from 'node:fs';

export interface ScenarioResult {
  readonly name: string;
  readonly file: string;
  readonly seconds: number;
  readonly steps: number;
  /** The failing step's path and name and what the bench saw; absent when the scenario passed. */
  readonly failure?: { readonly step: string; readonly message: string };
}

const escapeXml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!)
    // Characters XML 1.0 cannot hold at all.
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '?');

export function junitXml(results: readonly ScenarioResult[], suite = 'tern-hil'): string {
  const failures = results.filter((r) => r.failure).length;
  const total = results.reduce((s, r) => s + r.seconds, 0);
  const cases = results.map((r) => {
    const head = `  <testcase classname="${escapeXml(suite)}" name="${escapeXml(r.name)}" file="${escapeXml(r.file)}" time="${r.seconds.toFixed(3)}"`;
    if (!r.failure) return `${head}/>`;
    return `${head}>\n    <failure message="${escapeXml(`${r.failure.step}: ${r.failure.message}`)}" type="HilStepFailed">${escapeXml(`step ${r.failure.step}\n${r.failure.message}`)}</failure>\n  </testcase>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="${escapeXml(suite)}" tests="${results.length}" failures="${failures}" errors="0" time="${total.toFixed(3)}">\n${cases.join('\n')}\n</testsuite>\n`;
}

export function writeJunit(file: string, results: readonly ScenarioResult[]): void {
  writeFileSync(file, junitXml(results));
}

/** One line per scenario, then the totals. */
export function summary(results: readonly ScenarioResult[]): string {
  const lines = results.map((r) => `${r.failure ? 'FAIL' : 'pass'}  ${r.name} (${r.steps} steps, ${r.seconds.toFixed(1)} s)${r.failure ? `\n      at ${r.failure.step}: ${r.failure.message}` : ''}`);
  const failed = results.filter((r) => r.failure).length;
  lines.push(`${results.length - failed} passed, ${failed} failed`);
  return lines.join('\n');
}
