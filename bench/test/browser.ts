import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface PageCheck {
  /** Requests the page made to anything but its own file: must stay empty (the report opens offline). */
  externalRequests: string[];
  consoleErrors: string[];
  svgCount: number;
  polylines: number;
  title: string;
  heading: string;
  /** The verdict block under the heading ('' when the report has none). */
  verdict: string;
}

/**
 * Opens an HTML report in Debian's headless Chromium (playwright-core drives it; no browser
 * download), saves a full-page screenshot and reports what a reader would see.
 */
export async function screenshotReport(htmlFile: string, pngFile: string): Promise<PageCheck> {
  const profile = mkdtempSync(path.join(tmpdir(), 'floodgate-chromium-'));
  // A fresh profile per run; playwright passes it as --user-data-dir.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    viewport: { width: 1000, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    const page = await context.newPage();
    const own = pathToFileURL(htmlFile).href;
    const externalRequests: string[] = [];
    const consoleErrors: string[] = [];
    page.on('request', (request) => {
      if (request.url() !== own && !request.url().startsWith('data:')) externalRequests.push(request.url());
    });
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));
    await page.goto(own, { waitUntil: 'load' });
    await page.screenshot({ path: pngFile, fullPage: true });
    return {
      externalRequests,
      consoleErrors,
      svgCount: await page.locator('svg').count(),
      polylines: await page.locator('svg polyline').count(),
      title: await page.title(),
      heading: (await page.locator('h1').textContent()) ?? '',
      verdict: (await page.locator('.verdict').count()) > 0 ? ((await page.locator('.verdict').innerText()) ?? '') : '',
    };
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}
