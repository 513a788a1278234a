// Debian's chromium, driven by playwright-core: never a browser download. Each launch gets a
// fresh profile; screenshots go to test/console/output/ (git-ignored) for a reviewer to open.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startTern, type TernProcess } from '../support/node-process.js';
import { eventually } from '../support/wait.js';

export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOTS = fileURLToPath(new URL('./output/', import.meta.url));

export async function launchBrowser(): Promise<BrowserContext> {
  const profile = mkdtempSync(join(tmpdir(), 'tern-chromium-'));
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1400, height: 900 },
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', // the fresh --user-data-dir is `profile`, passed by playwright
    ],
  });
}

/** A page whose script errors fail the test that reads `errors`. */
export async function consolePage(context: BrowserContext): Promise<{ page: Page; errors: string[] }> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  return { page, errors };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

export interface OpenConsole {
  readonly process: TernProcess;
  readonly browser: BrowserContext;
  readonly page: Page;
  readonly errors: string[];
}

/** Starts `tern gse console ARGS`, then logs a fresh chromium into it by the link it prints. */
export async function openConsole(args: string[], env: NodeJS.ProcessEnv, cwd: string, viewport?: { width: number; height: number }): Promise<OpenConsole> {
  const child = startTern(['gse', 'console', ...args], env, cwd);
  await child.waitForLine((l) => l.msg === 'console listening');
  const loginUrl = await eventually(() => child.stderr.map((l) => /open (http\S+)/.exec(l)?.[1]).find(Boolean), 'the login link');
  const browser = await launchBrowser();
  const { page, errors } = await consolePage(browser);
  if (viewport) await page.setViewportSize(viewport);
  await page.goto(loginUrl);
  await page.waitForSelector('body[data-ready=true]');
  return { process: child, browser, page, errors };
}
