// The review console in a real browser against the release binary on a fresh, demo-seeded
// database. The tests share one server and run in order: the approval in one is the
// whitelist entry the next suspends.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { api, login, openAs, shot, signIn, sleep, start, stop } from './harness.mjs';

let world;
let admin; // an admin's token, for setup and checks through REST
let serviceKey; // an API key, as the ad-serving side would ask the gate
let season618;
let approved; // { applicationId, campaign } from the approval test

/** A link of the main navigation. */
const nav = (page, name) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });

/** Polls the gate (it sees a change within a second) until it gives `want`. */
async function gateSays(campaign, at, want) {
  let last;
  for (let i = 0; i < 30; i++) {
    last = await api(world, 'GET', `/gate/campaigns/${campaign}?at=${encodeURIComponent(at)}`, { token: serviceKey });
    assert.equal(last.status, 200, JSON.stringify(last.body));
    if (last.body.reason === want) return last.body;
    await sleep(200);
  }
  assert.fail(`the gate said ${JSON.stringify(last.body)}, expected ${want}`);
}

before(async () => {
  world = await start();
  admin = await login(world, 'admin@demo.example');
  const key = await api(world, 'POST', '/api-keys', { token: admin, body: { name: 'e2e ad server' } });
  assert.equal(key.status, 201, JSON.stringify(key.body));
  serviceKey = key.body.key;
  const seasons = await api(world, 'GET', '/seasons?limit=200', { token: admin });
  season618 = seasons.body.items.find((s) => s.code.startsWith('618-'));
  assert.ok(season618, 'the demo has a 618 season');
});

after(async () => {
  await stop(world);
});

test('the console is served with a strict policy, and deep links survive', async () => {
  const res = await fetch(`${world.base}/console/applications/00000000-0000-0000-0000-000000000000`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-security-policy'), /script-src 'self'/);
  const page = await world.browser.newPage();
  const errors = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  await page.goto(`${world.base}/console/`);
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  await shot(page, 'sign-in');
  assert.deepEqual(errors.filter((e) => /Content Security Policy/i.test(e)), []);
  await page.close();
});

test('a marketer is turned away', async () => {
  const page = await openAs(world, 'jadepeak@demo.example');
  await page.getByText('This console is for platform staff').waitFor();
  assert.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 0);
  assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'no token kept');
  await page.close();
});

test('a reviewer claims from the queue and approves; the gate then says ok', async () => {
  const page = await openAs(world, 'reviewer2@demo.example', '/console/queue');
  const queue = page.getByRole('table', { name: 'Review queue' });
  await queue.waitFor();
  // Appeals come first and are marked.
  const first = queue.locator('tbody tr').first();
  await first.getByText('Appeal').waitFor();
  const row = queue.locator('tbody tr', { hasText: 'trail shoes flash sale' });
  await row.getByText('Jade Peak Outdoor').waitFor();
  await shot(page, 'queue');
  await row.getByRole('button', { name: 'Claim' }).click();
  await page.waitForURL(/\/console\/applications\/[0-9a-f-]{36}$/);
  const applicationId = page.url().split('/').pop();
  await page.getByRole('button', { name: 'Approve' }).waitFor();
  // A deep link survives a reload (the session is kept in this tab).
  await page.reload();
  await page.getByRole('button', { name: 'Approve' }).waitFor();
  await page.getByText('Tmall flagship store').first().waitFor();
  await page.getByLabel('Reason').selectOption({ index: 1 });
  await page.locator('.remediation').waitFor();
  await shot(page, 'application');
  await page.getByRole('button', { name: 'Approve' }).click();
  await page.getByText('Application approved.').waitFor();
  await page.getByRole('table', { name: 'Audit trail' }).getByText('approved', { exact: false }).first().waitFor();

  const campaigns = await api(world, 'GET', `/campaigns?season_id=${season618.id}&limit=200`, { token: admin });
  const campaign = campaigns.body.items.find((c) => c.application_id === applicationId);
  assert.ok(campaign, 'the approval made a campaign');
  approved = { applicationId, campaign };
  const during = new Date(new Date(campaign.starts_at).getTime() + 3600_000).toISOString();
  const answer = await gateSays(campaign.id, during, 'ok');
  assert.equal(answer.eligible, true);
  await page.close();
});

test('a reviewer suspends the brand from the season page; the gate says whitelist_suspended', async () => {
  assert.ok(approved, 'runs after the approval');
  const page = await openAs(world, 'reviewer2@demo.example', '/console/seasons');
  await page.getByRole('link', { name: season618.name }).click();
  await page.waitForURL(`**/console/seasons/${season618.id}`);
  await page.getByRole('img', { name: /^Applications:/ }).waitFor();
  const row = page.getByRole('table', { name: 'Whitelist' }).locator('tbody tr', { hasText: 'Jade Peak Outdoor' });
  await row.getByRole('button', { name: 'Suspend' }).waitFor();
  await shot(page, 'season');

  // The CSV export goes through fetch with the bearer token, then a blob download.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download CSV' }).click()]);
  assert.match(download.suggestedFilename(), /^whitelist-618-\d{4}\.csv$/);
  const csv = await (await import('node:fs/promises')).readFile(await download.path(), 'utf8');
  assert.match(csv, /Jade Peak Outdoor/);

  await row.getByLabel(/Reason/).fill('Counterfeit complaints under investigation');
  await row.getByRole('button', { name: 'Suspend' }).click();
  await row.getByRole('button', { name: 'Reinstate' }).waitFor();
  await row.getByText('Suspended', { exact: true }).waitFor();
  const c = approved.campaign;
  const during = new Date(new Date(c.starts_at).getTime() + 3600_000).toISOString();
  await gateSays(c.id, during, 'whitelist_suspended');
  await page.close();
});

test('the reviewer who rejected an appeal is refused it, with the API’s message', async () => {
  const appeal = (await api(world, 'GET', `/review/queue?season_id=${season618.id}`, { token: admin })).body.items.find(
    (a) => a.appeal,
  );
  assert.ok(appeal, 'the demo has an appeal in the queue');
  // What the API says to reviewer1 (who rejected it) — the page must show this detail.
  const r1 = await login(world, 'reviewer1@demo.example');
  const refusal = await api(world, 'POST', `/applications/${appeal.id}/claim`, { token: r1 });
  assert.equal(refusal.status, 403);
  assert.equal(refusal.body.code, 'four_eyes_required');

  const page = await openAs(world, 'reviewer1@demo.example', '/console/queue');
  const row = page.getByRole('table', { name: 'Review queue' }).locator(`tbody tr[data-id="${appeal.id}"]`);
  await row.getByRole('button', { name: 'Claim' }).click();
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.equal((await alert.textContent()).trim(), refusal.body.detail);
  await page.close();
});

test('approving a brand whose entry is suspended is refused with the detail; changes can be requested', async () => {
  const page = await openAs(world, 'reviewer2@demo.example', '/console/queue');
  const row = page.getByRole('table', { name: 'Review queue' }).locator('tbody tr', { hasText: 'porcelain tea sets' });
  await row.getByRole('button', { name: 'Claim' }).click();
  await page.waitForURL(/\/console\/applications\//);
  const id = page.url().split('/').pop();
  const token = await page.evaluate(() => JSON.parse(sessionStorage.getItem('moments-gate.session')).token);
  await page.getByRole('button', { name: 'Approve' }).click();
  const alert = page.getByRole('alert');
  await alert.waitFor();
  // The same refusal through REST (an idempotent check: nothing changes on a 409).
  const refusal = await api(world, 'POST', `/applications/${id}/decision`, { token, body: { decision: 'approve' } });
  assert.equal(refusal.status, 409);
  assert.equal(refusal.body.code, 'whitelist_suspended');
  assert.equal((await alert.textContent()).trim(), refusal.body.detail);

  await page.getByLabel('Reason').selectOption('creative_policy');
  await page.locator('.remediation').waitFor();
  await page.getByLabel('Note').fill('The second image shows a competitor’s logo.');
  await page.getByRole('button', { name: 'Request changes' }).click();
  await page.getByText('Decision recorded.').waitFor();
  const after = await api(world, 'GET', `/applications/${id}`, { token: admin });
  assert.equal(after.body.status, 'changes_requested');
  assert.equal(after.body.decision.reason_code, 'creative_policy');
  await page.close();
});

test('brand-written text is shown as text, never as HTML', async () => {
  const marketer = await login(world, 'jadepeak@demo.example');
  const me = (await api(world, 'GET', '/me', { token: marketer })).body;
  const brand = me.memberships[0].brand_id;
  const start = new Date(new Date(season618.starts_at).getTime() + 2 * 86400_000).toISOString();
  const end = new Date(new Date(season618.starts_at).getTime() + 5 * 86400_000).toISOString();
  const html = '<img src=x onerror="document.body.dataset.owned=1">';
  const created = await api(world, 'POST', '/applications', {
    token: marketer,
    body: {
      brand_id: brand,
      season_id: season618.id,
      title: `Markup test ${html}`,
      creative: {
        headline: '<b>Bold</b> claim',
        body: html,
        card_label: 'Tmall flagship store',
        logo_url: 'https://img.example.invalid/logo.png',
        image_urls: ['https://img.example.invalid/1.png', 'https://img.example.invalid/2.png', 'https://img.example.invalid/3.png'],
      },
      landing: { app_url: 'tmall://page.tm/shop?shopId=1', web_url: 'https://jadepeak.tmall.com/' },
      requested_window: { starts_at: start, ends_at: end },
      budget: { total_fen: 5_000_000, daily_cap_fen: 1_000_000, cpm_bid_fen: 4_500 },
      targeting: { regions: ['CN-SH'], age_min: 18, age_max: 40, genders: ['female'], interests: ['running'] },
    },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const page = await openAs(world, 'reviewer2@demo.example', `/console/applications/${created.body.id}`);
  await page.getByText('<b>Bold</b> claim').waitFor();
  await page.getByText(html).first().waitFor();
  assert.equal(await page.evaluate(() => document.body.dataset.owned ?? null), null);
  // Fen shown as yuan; images that cannot load show a placeholder.
  await page.getByText('¥50,000.00').waitFor();
  await page.getByText('¥45.00').waitFor();
  assert.equal(await page.locator('.moment-img.placeholder').count(), 3);
  await page.close();
});

test('an admin works the admin pages, in both languages', async () => {
  const page = await openAs(world, 'admin@demo.example', '/console/brands');
  // Brands to verify: Orbit Audio waits; verify it with a note.
  const orbit = page.getByRole('table', { name: 'Brands to verify' }).locator('tbody tr', { hasText: 'Orbit Audio' });
  await orbit.getByRole('link', { name: /tmall\.com/ }).waitFor();
  await shot(page, 'brands');
  await orbit.getByLabel(/Note/).fill('Trademark certificate checked');
  await orbit.getByRole('button', { name: 'Verify' }).click();
  await page.getByText('Orbit Audio: Verified').waitFor();

  // Users: create a reviewer, then disable it.
  await nav(page, 'Users').click();
  const form = page.getByRole('form', { name: 'New user' });
  await form.getByLabel('Email').fill('wang.fang@platform.example');
  await form.getByLabel('Display name').fill('Wang Fang');
  await form.getByLabel('Password').fill('plum rain over the west lake');
  await form.getByRole('button', { name: 'Create' }).click();
  const userRow = page.getByRole('table', { name: 'Users' }).locator('tbody tr', { hasText: 'wang.fang@platform.example' });
  await userRow.waitFor();
  await shot(page, 'users');
  await userRow.getByRole('button', { name: /Disable/ }).click();
  await page.getByText('wang.fang@platform.example: Disabled').waitFor();

  // API keys: the secret is shown once; the key works at the gate until revoked.
  await nav(page, 'API keys').click();
  await page.getByLabel('Name').fill('ad server (staging)');
  await page.getByRole('button', { name: 'Create' }).click();
  const secret = (await page.locator('#secret').textContent()).trim();
  await page.getByRole('button', { name: 'Copy' }).waitFor();
  await shot(page, 'api-keys');
  const c = approved?.campaign;
  if (c) assert.equal((await api(world, 'GET', `/gate/campaigns/${c.id}`, { token: secret })).status, 200);
  await page.getByRole('button', { name: 'Revoke ad server (staging)' }).click();
  await page.getByText('ad server (staging): Revoked').waitFor();
  if (c) assert.equal((await api(world, 'GET', `/gate/campaigns/${c.id}`, { token: secret })).status, 401);

  // Seasons: create one with a phase, typed in its own time zone.
  await nav(page, 'Seasons').click();
  await page.getByRole('button', { name: 'New season' }).click();
  await page.getByLabel('Code').fill('e2e-2031');
  await page.getByLabel('Name').fill('E2E Spring Sale 2031');
  await page.getByLabel('Applications open').fill('2031-01-01T00:00');
  await page.getByLabel('Applications close').fill('2031-02-20T00:00');
  await page.getByLabel('Starts').fill('2031-03-01T00:00');
  await page.getByLabel('Ends').fill('2031-03-31T00:00');
  await page.getByRole('button', { name: 'Add phase' }).click();
  const phase = page.getByRole('group', { name: 'Phases' });
  await phase.getByLabel('Name').fill('Warm-up');
  await phase.getByLabel('Starts').fill('2031-03-01T00:00');
  await phase.getByLabel('Ends').fill('2031-03-08T00:00');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('heading', { name: /E2E Spring Sale 2031/ }).waitFor();
  const created = (await api(world, 'GET', '/seasons/e2e-2031', { token: admin })).body;
  assert.equal(created.timezone, 'Asia/Shanghai');
  assert.equal(created.starts_at.slice(0, 19), '2031-02-28T16:00:00', 'midnight in Shanghai');
  assert.equal(created.phases[0].name, 'Warm-up');

  // Edit the 618 season's name (PATCH with If-Match), phases kept; a stale form is refused.
  await nav(page, 'Seasons').click();
  await page.getByRole('button', { name: `Edit ${season618.code}` }).click();
  await page.getByRole('group', { name: 'Phases' }).waitFor();
  const phases = await page.getByRole('group', { name: 'Phases' }).getByLabel('Name').count();
  assert.ok(phases >= 3, 'the 618 phases are in the form');
  await shot(page, 'season-edit');
  const current = await api(world, 'GET', `/seasons/${season618.id}`, { token: admin });
  const bump = await fetch(`${world.base}/v1/seasons/${season618.id}`, {
    method: 'PATCH',
    headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json', 'If-Match': current.headers.get('etag') },
    body: JSON.stringify({ name: season618.name }),
  });
  assert.equal(bump.status, 200);
  await page.getByLabel('Name').first().fill(`${season618.name} (edited)`);
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('alert').waitFor();
  const stale = await fetch(`${world.base}/v1/seasons/${season618.id}`, {
    method: 'PATCH',
    headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json', 'If-Match': current.headers.get('etag') },
    body: JSON.stringify({ name: season618.name }),
  });
  assert.equal(stale.status, 412);
  assert.equal((await page.getByRole('alert').textContent()).trim(), (await stale.json()).detail);
  await page.reload();
  await page.getByRole('group', { name: 'Phases' }).waitFor();
  await page.getByLabel('Name').first().fill(`${season618.name} (edited)`);
  await page.getByRole('button', { name: 'Save' }).click();
  await page.waitForURL(`**/console/seasons/${season618.id}`);
  await page.getByRole('heading', { name: /\(edited\)/ }).waitFor();
  const after = (await api(world, 'GET', `/seasons/${season618.id}`, { token: admin })).body;
  assert.equal(after.phases.length, season618.phases.length);
  assert.equal(after.starts_at, season618.starts_at);

  // Audit log with a filter.
  await nav(page, 'Audit log').click();
  await page.getByLabel('Entity type').selectOption('season');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.getByRole('table', { name: 'Audit log' }).locator('tbody tr').first().waitFor();
  const types = await page.getByRole('table', { name: 'Audit log' }).locator('tbody tr td:nth-child(3)').allTextContents();
  assert.ok(types.length > 0 && types.every((t) => t.startsWith('season')), types.join());
  await shot(page, 'audit');

  // Simplified Chinese, and back.
  await page.getByRole('button', { name: /Language/ }).click();
  await nav(page, '审核队列').click();
  await page.getByRole('heading', { name: '审核队列' }).waitFor();
  await page.getByRole('button', { name: /语言/ }).click();
  await page.getByRole('heading', { name: 'Review queue' }).waitFor();
  await page.close();
});

test('an action whose answer was lost is retried with its key and done once', async () => {
  const page = await openAs(world, 'admin@demo.example', '/console/users');
  // The first POST reaches the server and is done, but its answer never arrives.
  const keys = [];
  await page.route('**/v1/users', async (route) => {
    if (route.request().method() !== 'POST') return route.continue();
    keys.push(route.request().headers()['idempotency-key']);
    if (keys.length === 1) {
      await route.fetch();
      return route.abort('connectionreset');
    }
    return route.continue();
  });
  const form = page.getByRole('form', { name: 'New user' });
  await form.getByLabel('Email').fill('li.lei@platform.example');
  await form.getByLabel('Display name').fill('Li Lei');
  await form.getByLabel('Password').fill('amber tide over the old pier');
  await form.getByRole('button', { name: 'Create' }).click();
  await page.getByText('The server could not be reached').waitFor();
  // The reviewer tries again: the same key, so the server answers what it did.
  await form.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('table', { name: 'Users' }).locator('tbody tr', { hasText: 'li.lei@platform.example' }).waitFor();
  assert.equal(keys.length, 2);
  assert.ok(keys[0], 'a key was sent');
  assert.equal(keys[1], keys[0], 'the retry reused its key');
  const users = await api(world, 'GET', '/users?q=li.lei%40platform.example', { token: admin });
  assert.equal(users.body.items.length, 1, 'one user made');
  await page.close();
});

test('an ended session returns to sign-in with a message; sign out', async () => {
  const page = await openAs(world, 'reviewer2@demo.example', '/console/brands');
  await page.getByRole('heading', { name: 'Brands to verify' }).waitFor();
  const token = await page.evaluate(() => JSON.parse(sessionStorage.getItem('moments-gate.session')).token);
  assert.equal((await api(world, 'POST', '/auth/logout', { token })).status, 204);
  await nav(page, 'Queue').click();
  await page.getByText('Your session has expired').waitFor();
  await signIn(page, 'reviewer2@demo.example');
  await page.getByRole('heading', { name: 'Review queue' }).waitFor();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  await page.close();
});
