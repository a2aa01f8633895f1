import { mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderHtml } from '../src/html.ts';
import { screenshotReport } from './browser.ts';
import { fixtureReport } from './fixture.ts';

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

/** The HTML report as a reader sees it: opened from disk in headless Chromium, offline. */
describe('HTML report in a browser', () => {
  it('opens from a file with no network request and no script error, charts drawn, and is screenshotted', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bench-report-'));
    const html = path.join(dir, 'report.html');
    writeFileSync(html, renderHtml(fixtureReport()));
    mkdirSync(ARTIFACTS, { recursive: true });
    const png = path.join(ARTIFACTS, 'bench-report-fixture.png');
    const page = await screenshotReport(html, png);
    expect(page.title).toBe('floodgate bench storm 20260101-000000-abcd');
    expect(page.heading).toContain('delivery proven');
    expect(page.heading).toContain('PASSED');
    expect(page.verdict).toBe('Run PASSED');
    expect(page.externalRequests).toEqual([]);
    expect(page.consoleErrors).toEqual([]);
    expect(page.svgCount).toBe(7);
    // Every series of every chart is a drawn line.
    expect(page.polylines).toBeGreaterThanOrEqual(20);
    expect(statSync(png).size).toBeGreaterThan(50_000);
  });

  it('shows a failed run as FAILED with its reason above everything else', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bench-report-'));
    const html = path.join(dir, 'report.html');
    const reason = '12800 of 12800 requests failed (100 %): 401 UNAUTHORIZED ×12800';
    writeFileSync(html, renderHtml(fixtureReport({ verdict: { ok: false, reasons: [reason] } })));
    mkdirSync(ARTIFACTS, { recursive: true });
    const png = path.join(ARTIFACTS, 'bench-report-fixture-failed.png');
    const page = await screenshotReport(html, png);
    expect(page.heading).toContain('FAILED');
    expect(page.verdict).toBe(`Run FAILED\n${reason}`);
    expect(page.consoleErrors).toEqual([]);
    expect(statSync(png).size).toBeGreaterThan(50_000);
  });
});
