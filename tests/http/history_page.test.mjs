// The History page (/sessions) over plain HTTP with a signed-in browser
// (README "The History page", DESIGN.md section 6): filters render only the
// matching rows; chips, each removing exactly its own filter; sortable
// column headers (aria-sort); the Newer/Older pager walking forward and back
// to the same pages; the summary strip's status counts and its SVG chart;
// the empty state; a 400 page for a bad filter; per-project access. Then
// the forms: a quick action that returns to the filtered list with a flash,
// bulk actions naming each session that could not be acted on and why,
// saved views (own, shared, private, delete, refused), and the live-update
// long-poll /changes.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, parseForms, tagAttrs, htmlDecode } from '../lib/server.mjs';
import { createSession, append, getSession, sessionLinks, sql, q, sleep } from '../lib/fixtures.mjs';

const P = `p${Date.now().toString(36)}${process.pid.toString(36)}`;
const PA = `${P}-pa`; // project of X
const PB = `${P}-pb`; // project of Y
const PG = `${P}-pg`; // project of the pager's sessions
const X = `${P}-pagebot`;
const Y = `${P}-otherbot`;
const Z = `${P}-actbot`; // sessions the action tests change

/** Session ids of the table rows, in order: <tr data-id="ID">, or the
 *  /sessions/ID links of the table body where rows carry no data-id. */
function rowIds(html) {
  const at = html.indexOf('<tbody');
  if (at < 0) return [];
  const body = html.slice(at, html.indexOf('</tbody>', at) + 8);
  const ids = [...body.matchAll(/<tr\b[^>]*\bdata-id="([^"]+)"/g)].map((m) => m[1]);
  return ids.length ? ids : sessionLinks(body);
}

/** The attributes of every <a> start tag whose text matches re. */
function anchors(html, re) {
  return (html.match(/<a\b[^>]*>/g) || []).filter((t) => re.test(t)).map(tagAttrs);
}
/** href of the pager link rel=next|prev, or undefined. */
const relLink = (html, rel) => anchors(html, new RegExp(`\\brel="${rel}"`))[0]?.href;

/** The flash of a page: {kind, message} or undefined. */
function flashOf(html) {
  const m = html.match(/class="flash flash-(\w+)"[^>]*>[\s\S]*?<p class="flash-message">([\s\S]*?)<\/p>/);
  return m ? { kind: m[1], message: htmlDecode(m[2]).trim() } : undefined;
}

/** Query parameters of a URL as sorted "k=v" strings (a multiset). */
function params(url) {
  const u = new URL(url, 'http://x');
  return [...u.searchParams.entries()].map(([k, v]) => `${k}=${v}`).sort();
}

/** Status facet counts of the summary strip: {status: count}. */
function statusFacets(html) {
  const out = {};
  for (const m of html.matchAll(/<a class="facet(?: is-selected)?"[^>]*>([\s\S]*?)<\/a>/g)) {
    const st = m[1].match(/status-(\w+)/);
    const n = m[1].match(/class="facet-count">([^<]*)</);
    if (st && n) out[st[1]] = Number(n[1].replace(/,/g, ''));
  }
  return out;
}

/** The value of the summary stat labelled `label` ("Sessions", "Cost", ...). */
function stat(html, label) {
  const m = html.match(new RegExp(`<dt>${label}</dt><dd class="stat-value">([^<]*)<`));
  return m && htmlDecode(m[1]);
}

/** The <th> of column `key` (col-KEY class): its attributes and sort link. */
function header(html, key) {
  const m = html.match(new RegExp(`<th\\b[^>]*class="col-${key}\\b[^"]*"[^>]*>([\\s\\S]*?)</th>`));
  if (!m) return undefined;
  const th = tagAttrs(m[0].match(/^<th\b[^>]*>/)[0]);
  const a = m[1].match(/<a\b[^>]*>/);
  return { ariaSort: th['aria-sort'], href: a ? tagAttrs(a[0]).href : undefined };
}

describe('History page', () => {
  let srv, rt, op, viewerTok, admin;
  const S = {}; // name -> id
  let pagerIds; // the pager's sessions, newest first (API order)

  const ids = async (query) => {
    const r = await srv.api('GET', `/api/v1/sessions?limit=200&${query}`, { token: viewerTok });
    assert.equal(r.status, 200, r.text);
    return r.json.data.map((s) => s.id);
  };
  const page = async (c, url, status = 200) => {
    const r = await c.get(url);
    assert.equal(r.status, status, `GET ${url}: ${r.status}`);
    return r.text;
  };
  const mk = async (key, body, events = []) => {
    const s = await createSession(srv, rt, body);
    if (events.length) await append(srv, rt, s.id, { events });
    S[key] = s.id;
    return s.id;
  };
  const run = { type: 'user_message', content: 'begin' };

  before(async () => {
    srv = await startServer();
    rt = await srv.token('runtime');
    op = await srv.token('operator');
    viewerTok = await srv.token('viewer');
    const x = { agent: X, project: PA, env: 'prod' };
    await mk('p1', { ...x, name: 'X pending' });
    await mk('r1', { ...x, name: 'X running one' }, [run, { type: 'usage', prompt_tokens: 50, completion_tokens: 5, cost: 0.2 }]);
    await mk('r2', { ...x, name: 'X running two', env: 'staging' }, [run]);
    await mk('c1', { ...x, name: 'X completed aardvark' }, [run, { type: 'usage', prompt_tokens: 300, completion_tokens: 30, cost: 0.3 }, { type: 'status', status: 'completed' }]);
    await mk('c2', { ...x, name: 'X completed two' }, [run, { type: 'usage', prompt_tokens: 100, completion_tokens: 10, cost: 0.1 }, { type: 'status', status: 'completed' }]);
    await mk('f1', { ...x, name: 'X failed' }, [run, { type: 'status', status: 'failed', error: 'it broke' }]);
    await mk('f2', { agent: Y, project: PB, name: 'Y failed', env: 'prod' }, [run, { type: 'status', status: 'failed', error: 'secretword failure' }]);
    await mk('r3', { agent: Y, project: PB, name: 'Y secretword running', env: 'prod' }, [run]);
    for (let i = 0; i < 60; i++) await createSession(srv, rt, { agent: `${P}-pg-${i % 5}`, project: PG, name: `pager ${i}` });
    pagerIds = await ids(`project=${PG}`);
    assert.equal(pagerIds.length, 60);
    admin = await srv.login('admin', srv.adminPassword);
  });
  after(async () => {
    await srv?.stop();
  });

  describe('the list', () => {
    it('filters render only the matching rows, in the API\'s order', async () => {
      const cases = [
        [`agent=${X}`, ['p1', 'r1', 'r2', 'c1', 'c2', 'f1']],
        [`agent=${X}&status=failed`, ['f1']],
        [`agent=${X}&status=running&status=completed`, ['r1', 'r2', 'c1', 'c2']],
        [`agent=${X}&status=running,completed&environment=staging`, ['r2']],
        ['status=failed', ['f1', 'f2']],
        [`project=${PB}`, ['f2', 'r3']],
        ['q=aardvark', ['c1']],
        ['q=secretword', ['f2', 'r3']],
        [`q=${S.p1}`, ['p1']],
        [`agent=${X}&has_error=1`, ['f1']],
        [`agent=${X}&success=true`, ['c1', 'c2']],
      ];
      for (const [query, keys] of cases) {
        const html = await page(admin, `/sessions?${query}`);
        const got = rowIds(html);
        assert.deepEqual([...got].sort(), keys.map((k) => S[k]).sort(), `/sessions?${query}`);
        assert.deepEqual(got, await ids(query), `/sessions?${query}: the API's order`);
      }
    });

    it('chips for the active filters, each removing exactly its own filter; Clear all', async () => {
      const url = `/sessions?q=running&status=failed&status=running&agent=${X}&environment=prod&sort=cost`;
      const html = await page(admin, url);
      const chips = (html.match(/<a\b[^>]*class="filter-chip"[^>]*>/g) || []).map(tagAttrs);
      assert.equal(chips.length, 5, 'one chip per filter (two for the two statuses)');
      const all = params(url);
      const drop = (p) => {
        const rest = [...all];
        rest.splice(rest.indexOf(p), 1);
        return rest;
      };
      const expected = {
        'Search: running': drop('q=running'),
        'Status: Failed': drop('status=failed'),
        'Status: Running': drop('status=running'),
        [`Agent: ${X}`]: drop(`agent=${X}`),
        'Environment: prod': drop('environment=prod'),
      };
      for (const [what, rest] of Object.entries(expected)) {
        const chip = chips.find((c) => c['aria-label'] === `Remove filter ${what}`);
        assert.ok(chip, `a chip for ${what}: ${chips.map((c) => c['aria-label']).join(', ')}`);
        assert.ok(chip.href.startsWith('/sessions'), chip.href);
        assert.deepEqual(params(chip.href), rest, `removing ${what} keeps the rest (sort too)`);
      }
      // Following the agent chip's link shows more rows than before.
      const before = rowIds(html);
      const wider = rowIds(await page(admin, chips.find((c) => c['aria-label'] === `Remove filter Agent: ${X}`).href));
      assert.deepEqual(before, [S.r1]);
      assert.ok(wider.includes(S.r1) && wider.includes(S.r3), 'without the agent filter, Y shows too');
      // Clear all keeps only the sort.
      const clear = html.match(/<a\b[^>]*href="([^"]*)"[^>]*>\s*Clear all\s*<\/a>/);
      assert.ok(clear, 'a Clear all link');
      assert.deepEqual(params(htmlDecode(clear[1])), ['sort=cost']);
      // No filter, no chips.
      assert.doesNotMatch(await page(admin, '/sessions'), /class="filter-chip"/);
    });

    it('sortable column headers: aria-sort on the sorted column, links that sort and flip', async () => {
      const def = await page(admin, `/sessions?agent=${X}`);
      assert.equal(header(def, 'started').ariaSort, 'descending', 'newest first by default');
      for (const k of ['status', 'name', 'duration', 'tokens', 'cost']) assert.equal(header(def, k).ariaSort, 'none', k);

      const asc = await page(admin, `/sessions?agent=${X}&sort=cost&direction=asc`);
      assert.equal(header(asc, 'cost').ariaSort, 'ascending');
      for (const k of ['status', 'name', 'started', 'duration', 'tokens']) assert.equal(header(asc, k).ariaSort, 'none', k);
      assert.deepEqual(rowIds(asc), await ids(`agent=${X}&sort=cost&direction=asc`));
      assert.equal(rowIds(asc).at(-1), S.c1, 'the dearest last');
      // The sorted column's link flips the direction and keeps the filter.
      const flip = header(asc, 'cost').href;
      assert.deepEqual(params(flip), [`agent=${X}`, 'sort=cost']);
      const desc = await page(admin, flip);
      assert.equal(header(desc, 'cost').ariaSort, 'descending');
      assert.deepEqual(rowIds(desc), await ids(`agent=${X}&sort=cost`));
      assert.equal(rowIds(desc)[0], S.c1, 'the dearest first');
      assert.deepEqual(params(header(desc, 'cost').href), [`agent=${X}`, 'direction=asc', 'sort=cost']);
      // Another column starts in its natural order: status ascending (lifecycle), tokens descending.
      const st = header(desc, 'status').href;
      assert.deepEqual(params(st), [`agent=${X}`, 'direction=asc', 'sort=status']);
      const byStatus = await page(admin, st);
      assert.equal(header(byStatus, 'status').ariaSort, 'ascending');
      assert.deepEqual(rowIds(byStatus), await ids(`agent=${X}&sort=status&direction=asc`));
      assert.equal(rowIds(byStatus)[0], S.p1, 'pending first');
      assert.equal(rowIds(byStatus).at(-1), S.f1, 'failed last');
      const tok = header(desc, 'tokens').href;
      assert.deepEqual(params(tok), [`agent=${X}`, 'sort=tokens']);
      assert.deepEqual(rowIds(await page(admin, tok)), await ids(`agent=${X}&sort=tokens`));
    });

    for (const sort of ['', '&sort=agent&direction=asc']) {
      it(`pager: Older and Newer walk forward and back to the same pages${sort ? ' (sort=agent)' : ''}`, async () => {
        const exp = sort ? await ids(`project=${PG}${sort}`) : pagerIds;
        const pages = [exp.slice(0, 25), exp.slice(25, 50), exp.slice(50)];
        let html = await page(admin, `/sessions?project=${PG}&limit=25${sort}`);
        assert.equal(relLink(html, 'prev'), undefined, 'no Newer on the first page');
        const urls = [];
        for (let i = 0; i < 3; i++) {
          assert.deepEqual(rowIds(html), pages[i], `page ${i + 1} going forward`);
          const next = relLink(html, 'next');
          if (i < 2) {
            assert.ok(next, `Older on page ${i + 1}`);
            assert.match(next, /[?&]cursor=/);
            assert.ok(params(next).includes(`project=${PG}`) && params(next).includes('limit=25'), 'the link keeps filter and page size');
            urls.push(next);
            html = await page(admin, next);
          } else assert.equal(next, undefined, 'no Older on the last page');
        }
        for (let i = 1; i >= 0; i--) {
          const prev = relLink(html, 'prev');
          assert.ok(prev, `Newer back to page ${i + 1}`);
          html = await page(admin, prev);
          assert.deepEqual(rowIds(html), pages[i], `page ${i + 1} going back`);
        }
        assert.equal(relLink(html, 'prev'), undefined, 'back on the first page');
        // A page link is stable while sessions arrive: page 2 is the same page.
        await createSession(srv, rt, { agent: `${P}-pg-0`, project: PG, name: 'late arrival' });
        assert.deepEqual(rowIds(await page(admin, urls[0])), pages[1]);
      });
    }

    it('summary strip: status counts for the filter (ignoring the status filter), totals, an SVG chart', async () => {
      const want = { pending: 1, running: 2, completed: 2, failed: 1 };
      const all = await page(admin, `/sessions?agent=${X}`);
      assert.deepEqual(statusFacets(all), want);
      assert.equal(stat(all, 'Sessions'), '6');
      assert.equal(stat(all, 'Cost'), '$0.60');
      assert.match(all, /<svg\b[^>]*class="chart"/);
      assert.match(all, /<svg[\s\S]*<rect\b[^>]*status-running[\s\S]*<\/svg>/, 'a bar segment for the running sessions');
      const failed = await page(admin, `/sessions?agent=${X}&status=failed`);
      assert.deepEqual(statusFacets(failed), want, 'the status facets ignore the status filter');
      assert.equal(stat(failed, 'Sessions'), '1');
      // The selected facet is marked and links back to any status.
      const sel = anchors(failed, /class="facet is-selected"/);
      assert.equal(sel.length, 1);
      assert.deepEqual(params(sel[0].href), [`agent=${X}`]);
      // A facet link filters by that status.
      const run = anchors(all, /class="facet"/).find((a) => /status=running/.test(a.href));
      assert.deepEqual(params(run.href), [`agent=${X}`, 'status=running']);
      assert.deepEqual(rowIds(await page(admin, run.href)).sort(), [S.r1, S.r2].sort());
      // Other data, other counts.
      assert.deepEqual(statusFacets(await page(admin, `/sessions?project=${PB}`)), { running: 1, failed: 1 });
    });

    it('empty state for a filter that matches nothing; 400 page for a bad filter', async () => {
      const html = await page(admin, `/sessions?agent=${P}-nobody`);
      assert.match(html, /No sessions match these filters/);
      assert.deepEqual(rowIds(html), []);
      assert.match(await page(admin, `/sessions?q=zzzznothingmatches&agent=${X}`), /No sessions match these filters/);
      for (const bad of ['status=bogus', 'kind=robot', 'sort=bogus', 'start_after=yesterday', 'range=2h']) {
        const r = await admin.get(`/sessions?${bad}`);
        assert.equal(r.status, 400, bad);
        assert.match(r.headers.get('content-type'), /^text\/html/, `${bad}: an HTML page`);
        assert.doesNotMatch(r.text, /<tbody/, `${bad}: no list`);
      }
      assert.match((await admin.get('/sessions?status=bogus')).text, /bogus/);
    });

    it('access: a viewer of one project sees only it, under any filter', async () => {
      await srv.addUser(`${P}-pat`, 'pat-password-1', 'viewer', { project: PA });
      const pat = await srv.login(`${P}-pat`, 'pat-password-1');
      const mineX = ['p1', 'r1', 'r2', 'c1', 'c2', 'f1'].map((k) => S[k]).sort();
      for (const [query, keys] of [
        ['', mineX],
        [`project=${PB}`, []],
        [`agent=${Y}`, []],
        ['q=secretword', []],
        [`q=${S.r3}`, []],
        ['status=failed', [S.f1]],
        ['sort=agent&direction=asc', mineX],
      ]) {
        const html = await page(pat, `/sessions?${query}`);
        assert.deepEqual(rowIds(html).sort(), keys, `?${query}`);
        assert.ok(!html.includes(Y) || query.includes(Y), `?${query}: Y's agent is not named`);
        assert.ok(!html.includes('secretword') || query.includes('secretword'), `?${query}: Y's text does not leak`);
      }
      const f = statusFacets(await page(pat, '/sessions?status=failed'));
      assert.equal(f.failed, 1, 'facet counts only readable sessions');
    });
  });

  describe('forms', () => {
    it('a quick action returns (303) to the exact filtered list, with a flash', async () => {
      const id = await mk('za', { agent: Z, project: PA, name: 'Z quick' }, [run]);
      const back = `/sessions?agent=${Z}`;
      const html = await page(admin, back);
      // The row's own form carries csrf and return_to.
      const form = parseForms(html).find((f) => f.action === `/sessions/${id}/cancel`);
      assert.ok(form, 'a Cancel form on the row');
      const fields = Object.fromEntries(form.inputs.filter((i) => i.type === 'hidden').map((i) => [i.name, i.value]));
      assert.equal(fields.return_to, back);
      const r = await admin.post(form.action, fields);
      assert.equal(r.status, 303);
      assert.equal(r.location, back);
      assert.ok(r.headers.getSetCookie().some((c) => c.startsWith('fd_flash=')), 'a flash cookie');
      const after = await page(admin, r.location);
      assert.deepEqual(flashOf(after), { kind: 'ok', message: `Session ${id} canceled.` });
      assert.equal((await getSession(srv, viewerTok, id)).status, 'canceled');
      assert.match(after, new RegExp(`data-id="${id}"[\\s\\S]*?status-canceled`));
      // The flash shows once.
      assert.equal(flashOf(await page(admin, back)), undefined);
      // A longer return_to comes back as it was.
      const id2 = await mk('zb', { agent: Z, project: PA, name: 'Z quick 2' }, [run]);
      const back2 = `/sessions?status=running&agent=${Z}&sort=cost&direction=asc`;
      const csrf = await admin.csrf();
      const r2 = await admin.post(`/sessions/${id2}/pause`, { csrf, return_to: back2 });
      assert.equal(r2.status, 303);
      assert.equal(r2.location, back2);
    });

    it('bulk: mixed selection — only the valid ones change; the flash names each other and why', async () => {
      const ra = await mk('bra', { agent: Z, project: PA, name: 'bulk running' }, [run]);
      const ca = await mk('bca', { agent: Z, project: PA, name: 'bulk completed' }, [run, { type: 'status', status: 'completed' }]);
      const back = `/sessions?agent=${Z}`;
      const html = await page(admin, back);
      const form = parseForms(html).find((f) => f.action === '/sessions/bulk');
      assert.ok(form, 'the bulk form');
      const hidden = form.inputs.filter((i) => i.type === 'hidden').map((i) => [i.name, i.value]);
      assert.ok(hidden.some(([n, v]) => n === 'return_to' && v === back));
      assert.ok(form.inputs.some((i) => i.name === 'action' && i.value === 'cancel'), 'a Cancel button');
      // Rows carry checkboxes named ids for the bulk form.
      for (const id of [ra, ca]) assert.match(html, new RegExp(`name="ids" value="${id}" form="bulk-form"`));
      const r = await admin.post('/sessions/bulk', [...hidden, ['action', 'cancel'], ['ids', ra], ['ids', ca]]);
      assert.equal(r.status, 303);
      assert.equal(r.location, back);
      const after = await page(admin, back);
      assert.deepEqual(flashOf(after), {
        kind: 'error',
        message: `Canceled 1 of 2 sessions. Not canceled: ${ca} (Completed: not allowed in that status).`,
      });
      assert.equal((await getSession(srv, viewerTok, ra)).status, 'canceled');
      assert.equal((await getSession(srv, viewerTok, ca)).status, 'completed');
      // Unknown ids are named too; all valid: an ok flash.
      const b1 = await mk('br1', { agent: Z, project: PA, name: 'bulk b1' }, [run]);
      const b2 = await mk('br2', { agent: Z, project: PA, name: 'bulk b2' }, [run]);
      const csrf = await admin.csrf();
      await admin.post('/sessions/bulk', { csrf, action: 'pause', ids: 'ses_noSuchSession00000', return_to: back });
      assert.deepEqual(flashOf(await page(admin, back)), { kind: 'error', message: 'Paused 0 of 1 sessions. Not paused: ses_noSuchSession00000 (no such session).' });
      await admin.post('/sessions/bulk', [['csrf', csrf], ['action', 'pause'], ['ids', b1], ['ids', b2], ['return_to', back]]);
      assert.deepEqual(flashOf(await page(admin, back)), { kind: 'ok', message: 'Paused 2 sessions.' });
      for (const id of [b1, b2]) assert.equal((await getSession(srv, viewerTok, id)).status, 'paused');
      // No ids: an error flash, nothing done.
      const n = await admin.post('/sessions/bulk', { csrf, action: 'resume', return_to: back });
      assert.equal(n.status, 303);
      assert.deepEqual(flashOf(await page(admin, back)), { kind: 'error', message: 'Select at least one session first.' });
      for (const id of [b1, b2]) assert.equal((await getSession(srv, viewerTok, id)).status, 'paused');
      // No csrf: 403, nothing done.
      const x = await admin.post('/sessions/bulk', [['action', 'resume'], ['ids', b1], ['return_to', back]]);
      assert.equal(x.status, 403);
      const w = await admin.post('/sessions/bulk', [['csrf', 'wrong'], ['action', 'resume'], ['ids', b1], ['return_to', back]]);
      assert.equal(w.status, 403);
      assert.equal((await getSession(srv, viewerTok, b1)).status, 'paused');
      // A session in a project the person cannot read is "no such session".
      await srv.addUser(`${P}-olga`, 'olga-password-1', 'operator', { project: PB });
      const olga = await srv.login(`${P}-olga`, 'olga-password-1');
      await olga.get('/sessions');
      const r3 = await olga.post('/sessions/bulk', [['csrf', await olga.csrf()], ['action', 'pause'], ['ids', S.r3], ['ids', b1], ['return_to', '/sessions']]);
      assert.equal(r3.status, 303);
      assert.deepEqual(flashOf(await page(olga, '/sessions')), { kind: 'error', message: `Paused 1 of 2 sessions. Not paused: ${b1} (no such session).` });
      assert.equal((await getSession(srv, viewerTok, S.r3)).status, 'paused');
      assert.equal((await getSession(srv, viewerTok, b1)).status, 'paused');
    });

    it('saved views: save (canonical query), own and shared listed, private hidden from others, delete, refusals', async () => {
      const views = () => sql(srv, `SELECT id, name, query, shared FROM saved_views WHERE name LIKE ${q(`${P}%`)} ORDER BY id`);
      await srv.addUser(`${P}-vera`, 'vera-password-1', 'viewer');
      const vera = await srv.login(`${P}-vera`, 'vera-password-1');
      await page(admin, '/sessions');
      const csrf = await admin.csrf();
      // The page's own save form carries the current query.
      const cur = await page(admin, `/sessions?agent=${X}&status=failed`);
      const saveForm = parseForms(cur).find((f) => f.action === '/views');
      assert.ok(saveForm, 'a Save this view form');
      assert.deepEqual(params(`?${saveForm.inputs.find((i) => i.name === 'query').value}`), [`agent=${X}`, 'status=failed']);

      const shared = `${P} failed X`;
      let r = await admin.post('/views', { csrf, name: shared, query: `agent=${X}&direction=desc&status=failed&sort=start_time&limit=50`, shared: '1', return_to: '/sessions' });
      assert.equal(r.status, 303);
      assert.equal(r.location, `/sessions?status=failed&agent=${X}`, 'to the canonical query');
      assert.deepEqual(flashOf(await page(admin, r.location)), { kind: 'ok', message: `Saved view "${shared}".` });
      const priv = `${P} mine by cost`;
      r = await admin.post('/views', { csrf, name: priv, query: `agent=${X}&sort=cost&direction=asc`, return_to: '/sessions' });
      assert.equal(r.status, 303);
      assert.equal(r.location, `/sessions?agent=${X}&sort=cost&direction=asc`);
      assert.deepEqual(views().map((v) => [v.name, v.query, v.shared]), [
        [shared, `status=failed&agent=${X}`, 1],
        [priv, `agent=${X}&sort=cost&direction=asc`, 0],
      ]);

      // The owner sees both, with links to their lists.
      const own = await page(admin, '/sessions');
      const link = (html, name) => {
        const m = html.match(new RegExp(`<a class="view-link" href="([^"]*)">${name}</a>`));
        return m && { href: htmlDecode(m[1]) };
      };
      assert.equal(link(own, shared)?.href, `/sessions?status=failed&agent=${X}`);
      assert.equal(link(own, priv)?.href, `/sessions?agent=${X}&sort=cost&direction=asc`);
      assert.deepEqual(rowIds(await page(admin, link(own, shared).href)), [S.f1], 'the view shows its list');
      // Another user sees the shared one (with its owner), not the private one.
      const other = await page(vera, '/sessions');
      assert.equal(link(other, shared)?.href, `/sessions?status=failed&agent=${X}`);
      assert.ok(!other.includes(priv), 'a private view stays private');
      assert.match(other, new RegExp(`${shared}</a>\\s*<span class="view-owner">admin</span>`));

      // A non-owner cannot delete it; the owner can.
      const [sv, pv] = views();
      await page(vera, '/sessions');
      r = await vera.post(`/views/${sv.id}/delete`, { csrf: await vera.csrf(), return_to: '/sessions' });
      assert.equal(r.status, 303);
      assert.equal(flashOf(await page(vera, '/sessions'))?.kind, 'error');
      assert.equal(views().length, 2, 'still there');
      r = await vera.post(`/views/${pv.id}/delete`, { csrf: await vera.csrf(), return_to: '/sessions' });
      assert.equal(flashOf(await page(vera, '/sessions'))?.kind, 'error');
      assert.equal(views().length, 2);
      r = await admin.post(`/views/${pv.id}/delete`, { csrf, return_to: '/sessions' });
      assert.equal(r.status, 303);
      const gone = await page(admin, '/sessions');
      assert.deepEqual(flashOf(gone), { kind: 'ok', message: 'Deleted the saved view.' });
      assert.ok(!gone.includes(priv));
      assert.deepEqual(views().map((v) => v.name), [shared]);
      // Without csrf: 403.
      assert.equal((await admin.post(`/views/${sv.id}/delete`, { return_to: '/sessions' })).status, 403);
      assert.equal((await admin.post('/views', { name: `${P} nocsrf`, query: 'status=failed' })).status, 403);

      // Refused: a query the page would refuse, no name; nothing stored.
      r = await admin.post('/views', { csrf, name: `${P} bogus`, query: 'status=bogus', return_to: '/sessions' });
      assert.equal(r.status, 303);
      let f = flashOf(await page(admin, '/sessions'));
      assert.equal(f.kind, 'error');
      assert.match(f.message, /^Not saved: unknown status "bogus"/);
      r = await admin.post('/views', { csrf, name: '   ', query: 'status=failed', return_to: '/sessions' });
      f = flashOf(await page(admin, '/sessions'));
      assert.equal(f.kind, 'error');
      assert.deepEqual(views().map((v) => v.name), [shared], 'nothing stored');
      // The app's own parser refuses control characters (a form body, not a URL).
      r = await admin.post('/views', { csrf, name: `${P} ctl`, query: 'agent=a%01b', return_to: '/sessions' });
      assert.equal(flashOf(await page(admin, '/sessions'))?.kind, 'error');
      assert.deepEqual(views().map((v) => v.name), [shared]);
    });

    // README: metadata `key=value` filters and the API's metadata={...} are
    // the same filter; a view or link made from both must keep both.
    it('a query with both meta= and metadata= keeps both in links and saved views', async () => {
      const query = `meta=${encodeURIComponent(`team=${P}`)}&metadata=${encodeURIComponent('{"tier":3}')}`;
      const html = await page(admin, `/sessions?${query}`);
      const saveQuery = parseForms(html).find((f) => f.action === '/views').inputs.find((i) => i.name === 'query').value;
      const kept = new URLSearchParams(saveQuery);
      assert.ok(kept.getAll('meta').includes(`team=${P}`) || (kept.get('metadata') || '').includes(P), `the save form's query keeps team: ${saveQuery}`);
      // The copy-link button carries the view's own URL: both filters in it.
      const copy = html.match(/data-copy="([^"]*)"/)[1].replace(/&amp;/g, '&');
      const params = new URL(copy, 'http://x').searchParams;
      assert.ok(params.getAll('meta').includes(`team=${P}`), `the view's link keeps team: ${copy}`);
      assert.ok(params.getAll('meta').includes('tier=3'), `the view's link keeps tier: ${copy}`);
    });

    it('/changes: {token, changed}; a long-poll wakes soon after a session is created; no cookie: to the sign-in', async () => {
      let r = await admin.get('/changes');
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type'), /^application\/json/);
      let j = JSON.parse(r.text);
      assert.equal(typeof j.token, 'string');
      assert.equal(j.changed, true, 'without since: changed');
      const tok = j.token;
      // The page carries the same token for its script.
      assert.match(await page(admin, '/sessions'), new RegExp(`data-gen="${tok}"`));
      // Nothing changes: wait, then changed:false with the same token.
      let t0 = Date.now();
      r = await admin.get(`/changes?since=${encodeURIComponent(tok)}&wait=1`);
      j = JSON.parse(r.text);
      assert.deepEqual(j, { token: tok, changed: false });
      assert.ok(Date.now() - t0 >= 900, `waited ${Date.now() - t0} ms`);
      // A session created while waiting ends the wait early.
      t0 = Date.now();
      const wait = admin.get(`/changes?since=${encodeURIComponent(tok)}&wait=10`);
      await sleep(300);
      await createSession(srv, rt, { agent: `${P}-live`, name: 'arrives while waiting' });
      r = await wait;
      const took = Date.now() - t0;
      j = JSON.parse(r.text);
      assert.equal(j.changed, true);
      assert.notEqual(j.token, tok);
      assert.ok(took >= 250 && took < 3000, `answered ${took} ms after it began`);
      // A status change (an event) changes the token too.
      const tok2 = j.token;
      const w2 = admin.get(`/changes?since=${encodeURIComponent(tok2)}&wait=10`);
      await sleep(200);
      await append(srv, rt, S.r1, { type: 'thought', content: 'still here' });
      j = JSON.parse((await w2).text);
      assert.equal(j.changed, true);
      assert.notEqual(j.token, tok2);
      // Without a cookie: the sign-in, never data.
      const anon = await srv.fetch(`/changes?since=${encodeURIComponent(tok)}&wait=1`);
      assert.ok([303, 401].includes(anon.status), `${anon.status}`);
      if (anon.status === 303) assert.match(anon.headers.get('location'), /^\/login\?next=%2Fchanges/);
      assert.doesNotMatch(await anon.text(), /"token"/);
      // Nor does a bearer token open it.
      const bearer = await srv.fetch('/changes', { headers: { authorization: `Bearer ${viewerTok}` } });
      assert.notEqual(bearer.status, 200);
    });
  });
});
