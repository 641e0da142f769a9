// Headless Chromium for the browser tests: Debian's chromium driven by
// playwright-core (no browser download), with the launch flags this machine
// needs, and a page that records every problem a person would not want to
// see: console errors, uncaught exceptions, CSP violations, failed requests,
// and HTTP errors from our server.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];

/**
 * Launch Chromium and open one page against `srv`. Problems are pushed onto
 * `problems` as text; `ignore(kind, info)` may return true to drop one the
 * test provokes on purpose (kind: 'console' {type, text}, 'requestfailed'
 * {url, errorText}, 'response' {url, status}).
 * Returns {browser, context, page, shots} (shots: the screenshot folder).
 */
export async function openBrowser(srv, problems, { ignore = () => false, viewport = { width: 1280, height: 900 } } = {}) {
  const shots = process.env.FD_SCREENSHOTS || path.join(os.tmpdir(), 'flightdeck-screenshots');
  fs.mkdirSync(shots, { recursive: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (ignore('console', { type: m.type(), text: m.text() })) return;
    if (m.type() === 'error' || /Content[- ]Security[- ]Policy/i.test(m.text())) problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (rq) => {
    const errorText = rq.failure()?.errorText;
    // Leaving a page aborts what it still had in flight: the History page's
    // live-update long poll and refetch (script fetches) and a late favicon
    // load. Expected, not a problem; every other failure is.
    if (errorText === 'net::ERR_ABORTED' && (rq.resourceType() === 'fetch' || rq.url().endsWith('/favicon.svg'))) return;
    if (ignore('requestfailed', { url: rq.url(), errorText })) return;
    problems.push(`request failed: ${rq.url()} ${errorText}`);
  });
  page.on('response', (rs) => {
    if (rs.status() < 400 || !rs.url().startsWith(srv.url)) return;
    if (ignore('response', { url: rs.url(), status: rs.status() })) return;
    problems.push(`HTTP ${rs.status()}: ${rs.url()}`);
  });
  // A CSP violation is not always a console error: report it as one.
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  return { browser, context, page, shots };
}
