// A person intervening in a real browser (headless Chromium, the launch flags
// of sessions.test.mjs): on the History page, pause a running session with
// its quick action (flash, badge Paused; with a call in flight, Pausing and no
// actions), cancel one through the confirm dialog (dismissed first: nothing
// happens; then accepted); on a detail page, resume a paused session; in the
// Work Center, complete a task through its form. Each change is checked
// against the API too. No console errors and no CSP violations on the way.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openBrowser } from './browser.mjs';
import { startServer } from '../lib/server.mjs';
import { getSession, listEvents, reachStatus, append, lifecycleSteps, assertLegalWalk, sql, q } from '../lib/fixtures.mjs';

describe('quick actions and the Work Center in Chromium', () => {
  let srv, browser, context, page, shots, runtime, operator, viewer;
  const problems = [];
  const ids = {};
  let taskId;

  before(async () => {
    srv = await startServer();
    runtime = await srv.token('runtime');
    operator = await srv.token('operator');
    viewer = await srv.token('viewer');
    const mk = async (key, status, name) => (ids[key] = await reachStatus(srv, runtime, operator, status, { name, agent: 'browser-agent' }));
    await mk('pause', 'running', 'Browser pause me');
    await mk('pausing', 'running', 'Browser pausing me');
    await append(srv, runtime, ids.pausing, { type: 'tool_call', tool_call_id: 'busy', tool: 'long_job', kind: 'server' });
    await mk('cancel', 'running', 'Browser cancel me');
    await mk('resume', 'paused', 'Browser resume me');
    await mk('task', 'running', 'Browser task session');
    const r = await append(srv, runtime, ids.task, { type: 'tool_call', tool_call_id: 'approve', tool: 'approve_invoice', kind: 'manual', arguments: { invoice: 'INV-77' } });
    taskId = r.events[0].id;

    ({ browser, context, page, shots } = await openBrowser(srv, problems));
    // Sign in through the form.
    await page.goto(`${srv.url}/login`);
    await page.fill('input[name="username"]', 'admin');
    await page.fill('input[name="password"]', srv.adminPassword);
    await Promise.all([page.waitForURL(/\/sessions$/), page.click('form button[type="submit"]')]);
  });

  after(async () => {
    await browser?.close();
    await srv?.stop();
  });

  const row = (name) => page.locator('table tbody tr', { hasText: name });
  const flash = () => page.locator('.flash .flash-message');
  /** Click and wait for the POST -> 303 -> GET to land. */
  const submit = (locator) => Promise.all([page.waitForNavigation({ waitUntil: 'load' }), locator.click()]);

  it('pause from the History page: flash, badge Paused, Resume and Cancel offered', async () => {
    await page.goto(`${srv.url}/sessions`);
    const r = row('Browser pause me');
    assert.equal(await r.locator('.badge').innerText(), 'Running');
    assert.deepEqual(await r.locator('button.btn-action').evaluateAll((bs) => bs.map((b) => b.className.match(/action-(\w+)/)[1])), ['pause', 'cancel']);
    await submit(r.locator('button.action-pause'));
    assert.equal(new URL(page.url()).pathname, '/sessions', 'back on the History page');
    assert.equal(await flash().innerText(), `Session ${ids.pause} paused.`);
    assert.ok(await page.locator('.flash.flash-ok').isVisible());
    assert.equal(await row('Browser pause me').locator('.badge').innerText(), 'Paused');
    assert.deepEqual(
      await row('Browser pause me').locator('button.btn-action').evaluateAll((bs) => bs.map((b) => b.className.match(/action-(\w+)/)[1])),
      ['resume', 'cancel'],
    );
    assert.equal((await getSession(srv, viewer, ids.pause)).status, 'paused');
    const steps = lifecycleSteps(await listEvents(srv, viewer, ids.pause));
    assert.deepEqual([steps.at(-1).action, steps.at(-1).actor], ['pause', 'user:admin']);
    // The flash is shown once.
    await page.reload();
    assert.equal(await page.locator('.flash').count(), 0);
    assert.deepEqual(problems, []);
  });

  it('pause with a tool call in flight: badge Pausing, no quick actions while pausing', async () => {
    await page.goto(`${srv.url}/sessions`);
    await submit(row('Browser pausing me').locator('button.action-pause'));
    assert.match(await flash().innerText(), /is pausing/);
    const r = row('Browser pausing me');
    assert.equal(await r.locator('.badge').innerText(), 'Pausing');
    assert.equal(await r.locator('button.btn-action').count(), 0);
    assert.ok(await r.locator('.no-actions').isVisible());
    // The runtime's result settles it; the page shows Paused.
    await append(srv, runtime, ids.pausing, { type: 'tool_result', tool_call_id: 'busy', result: 'done' });
    await page.reload();
    assert.equal(await row('Browser pausing me').locator('.badge').innerText(), 'Paused');
    assert.deepEqual(problems, []);
  });

  it('cancel asks first: dismissed, nothing happens; accepted, the session is canceled', async () => {
    await page.goto(`${srv.url}/sessions`);
    const button = row('Browser cancel me').locator('button.action-cancel');
    let message = '';
    page.once('dialog', (d) => {
      message = d.message();
      d.dismiss();
    });
    await button.click();
    await page.waitForTimeout(300);
    assert.match(message, /Cancel this session\?/);
    assert.equal(new URL(page.url()).pathname, '/sessions');
    assert.equal((await getSession(srv, viewer, ids.cancel)).status, 'running', 'dismissed: not canceled');
    assert.equal(await page.locator('.flash').count(), 0);

    let asked = 0;
    page.once('dialog', (d) => {
      asked++;
      d.accept();
    });
    await submit(row('Browser cancel me').locator('button.action-cancel'));
    assert.equal(asked, 1, 'the confirm dialog was shown');
    assert.equal(await flash().innerText(), `Session ${ids.cancel} canceled.`);
    const r = row('Browser cancel me');
    assert.equal(await r.locator('.badge').innerText(), 'Canceled');
    assert.deepEqual(await r.locator('button.btn-action').evaluateAll((bs) => bs.map((b) => b.className.match(/action-(\w+)/)[1])), ['delete']);
    assert.equal((await getSession(srv, viewer, ids.cancel)).status, 'canceled');
    await page.screenshot({ path: path.join(shots, 'actions.png'), fullPage: true });
    assert.deepEqual(problems, []);
  });

  it('resume from the detail page: back on the page, flash, badge Running', async () => {
    await page.goto(`${srv.url}/sessions/${ids.resume}`);
    assert.equal(await page.locator('.session-head .badge').first().innerText(), 'Paused');
    const actions = page.locator('.session-head-actions button.btn-action');
    assert.deepEqual(await actions.evaluateAll((bs) => bs.map((b) => b.className.match(/action-(\w+)/)[1])), ['resume', 'cancel']);
    await submit(page.locator('.session-head-actions button.action-resume'));
    assert.equal(new URL(page.url()).pathname, `/sessions/${ids.resume}`, 'back on the detail page');
    assert.equal(await flash().innerText(), `Session ${ids.resume} running.`);
    assert.equal(await page.locator('.session-head .badge').first().innerText(), 'Running');
    const s = await getSession(srv, viewer, ids.resume);
    assert.equal(s.status, 'running');
    const steps = lifecycleSteps(await listEvents(srv, viewer, ids.resume));
    assertLegalWalk(steps, 'running', ids.resume);
    assert.deepEqual([steps.at(-1).action, steps.at(-1).actor], ['resume', 'user:admin']);
    // The intervention is in the activity feed (the Activity tab), last.
    await Promise.all([page.waitForURL((u) => u.searchParams.get('tab') === 'activity'), page.locator('#session-tabs a.tab-activity').click()]);
    assert.match(await page.locator('#activity').innerText(), /admin/);
    assert.match(await page.locator('#activity-feed > li').last().innerText(), /Running by user:admin/);
    assert.deepEqual(problems, []);
  });

  it('the Work Center completes a task through its form', async () => {
    await page.goto(`${srv.url}/tasks`);
    const card = page.locator(`#task-${taskId}`);
    assert.ok(await card.isVisible(), 'the task is listed');
    assert.match(await card.innerText(), /approve_invoice/);
    assert.match(await card.innerText(), /INV-77/);
    await card.locator('textarea[name="result"]').fill('{"approved": true, "by": "browser"}');
    await submit(card.locator('button[name="decision"][value="complete"]'));
    assert.equal(new URL(page.url()).pathname, '/tasks');
    assert.match(await flash().innerText(), /Task completed/);
    assert.equal(await page.locator(`#task-${taskId}`).count(), 0, 'gone from the Work Center');
    const row0 = sql(srv, `SELECT state, result FROM tool_calls WHERE session_id = ${q(ids.task)} AND id = 'approve'`)[0];
    assert.equal(row0.state, 'succeeded');
    assert.deepEqual(JSON.parse(row0.result), { approved: true, by: 'browser' });
    const ev = (await listEvents(srv, viewer, ids.task)).find((e) => e.type === 'tool_result');
    assert.equal(ev.actor, 'user:admin');
    await page.screenshot({ path: path.join(shots, 'tasks.png'), fullPage: true });
    assert.deepEqual(problems, []);
  });
});
