// The web app in Debian's Chromium against a real inbox (scripts/e2e.sh starts it): sign in,
// dashboard widgets, inbox filters kept in the URL, optimistic mark-done and snooze, a refused
// update rolled back, empty states. Screenshots go to e2e/artifacts/.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ARTIFACTS, useBrowser } from './browser.mjs';

const BASE = process.env.RELANCE_E2E_URL ?? 'http://127.0.0.1:18181';
const EMPTY = process.env.RELANCE_E2E_EMPTY_URL ?? 'http://127.0.0.1:18182';

const browser = useBrowser();

async function signedIn(base, viewport = { width: 1280, height: 900 }) {
  const page = await browser().newPage({ viewport, locale: 'fr-FR', timezoneId: 'Europe/Paris' });
  await page.goto(`${base}/login`);
  await page.getByRole('button', { name: 'Camille Martin' }).click();
  await page.getByRole('heading', { name: 'Tableau de bord' }).waitFor();
  return page;
}

function card(page, title) {
  return page.getByRole('article', { name: title });
}

test('the dashboard shows the next actions and the hot leads', async () => {
  const page = await signedIn(BASE);
  const todo = page.getByTestId('inbox-widget');
  await todo.getByText('Rappeler Sophie pour le devis').waitFor();
  assert.ok((await todo.getByText('Retard').count()) >= 1);
  const leads = page.getByTestId('hot-leads-widget');
  await leads.getByText('Nadia Benali').waitFor();
  assert.equal(await leads.getByText(/Très chaud/).count(), 1);
  await leads.getByText('Voir tout (3)').waitFor();
  await page.screenshot({ path: `${ARTIFACTS}dashboard.png`, fullPage: true });
  await page.close();
});

test('inbox filters live in the URL and survive a reload', async () => {
  const page = await signedIn(BASE);
  // Camille manages the demo's teams: her inbox is her team's, her own one link away.
  await page.getByRole('link', { name: 'Mes relances' }).waitFor();
  await page.getByRole('link', { name: 'Mon équipe' }).click();
  await page.getByLabel('Assigné', { exact: true }).selectOption('me');
  await card(page, 'Démo produit chez Atelier Lumière').waitFor();
  assert.match(page.url(), /assignee=me/);
  assert.equal(await card(page, 'Relance contrat cadre').count(), 0, 'not mine');
  await page.reload();
  assert.equal(await page.getByLabel('Assigné', { exact: true }).inputValue(), 'me');
  await card(page, 'Démo produit chez Atelier Lumière').waitFor();
  await page.getByRole('term').filter({ hasText: 'Total' }).waitFor();
  await page.close();
});

test('mark done shows at once and stays done after a reload', async () => {
  const page = await signedIn(BASE);
  await page.goto(`${BASE}/dashboard/inbox?assignee=me`);
  const target = card(page, 'Rappeler Sophie pour le devis');
  await target.waitFor();
  // Hold the PATCH for a second: the card must change before the server answers.
  await page.route('**/api/v1/interactions/*/status', async (route) => {
    await new Promise((r) => setTimeout(r, 1000));
    await route.continue();
  });
  const patched = page.waitForResponse('**/api/v1/interactions/*/status');
  await target.getByRole('button', { name: 'Marquer terminé' }).click();
  // The server answers after a second: shown within 800 ms, the change is the optimistic one.
  await target.getByTestId('status').filter({ hasText: 'Terminé' }).waitFor({ timeout: 800 });
  assert.equal((await patched).status(), 200);
  await page.goto(`${BASE}/dashboard/inbox?assignee=me&status=done`);
  await card(page, 'Rappeler Sophie pour le devis').getByTestId('status').filter({ hasText: 'Terminé' }).waitFor();
  await page.close();
});

test('snooze +1 day changes the urgency label', async () => {
  const page = await signedIn(BASE);
  await page.goto(`${BASE}/dashboard/inbox?assignee=me`);
  const target = card(page, 'Démo produit chez Atelier Lumière');
  await target.waitFor();
  const before = await target.locator('.badge[class*="urgency-"]').textContent();
  const patched = page.waitForResponse('**/api/v1/interactions/*/next-action');
  await target.getByRole('button', { name: 'Reporter +1 jour' }).click();
  assert.equal((await patched).status(), 200);
  await page.reload();
  const afterLabel = await card(page, 'Démo produit chez Atelier Lumière').locator('.badge[class*="urgency-"]').textContent();
  assert.notEqual(afterLabel, before);
  assert.match(afterLabel, /^Dans \dj$/);
  await page.screenshot({ path: `${ARTIFACTS}inbox.png`, fullPage: true });
  await page.close();
});

test('a refused update is rolled back with a visible message', async () => {
  const page = await signedIn(BASE);
  await page.goto(`${BASE}/dashboard/inbox`);
  const target = card(page, 'Relance contrat cadre');
  await target.waitFor();
  const before = await target.locator('time').textContent();
  await page.route('**/api/v1/interactions/*/next-action', (route) =>
    route.fulfill({
      status: 422,
      contentType: 'application/problem+json',
      body: JSON.stringify({ type: 'x', title: 'Invalid request', status: 422, detail: '1 invalid field(s)',
        errors: [{ field: 'next_action_at', message: 'refusé pour le test' }] }),
    }),
  );
  await target.getByRole('button', { name: '+1 semaine' }).click();
  await page.getByRole('alert').filter({ hasText: 'Action refusée' }).waitFor();
  await page.waitForFunction(
    ([title, text]) => [...document.querySelectorAll('article')].some((a) => a.getAttribute('aria-label') === title && a.querySelector('time')?.textContent === text),
    ['Relance contrat cadre', before],
  );
  await page.close();
});

test('empty states, on a phone-sized screen', async () => {
  const page = await signedIn(EMPTY, { width: 390, height: 800 });
  await page.getByText('Aucune action en attente').waitFor();
  await page.getByText('Aucun lead chaud pour le moment').waitFor();
  await page.screenshot({ path: `${ARTIFACTS}dashboard-empty-phone.png`, fullPage: true });
  await page.close();
});

// ---- The live feed: changes made elsewhere appear without a reload.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

async function inboxListRequests(page) {
  const seen = [];
  page.on('request', (r) => {
    if (new URL(r.url()).pathname === '/api/v1/interactions/inbox') seen.push(r.url());
  });
  return seen;
}

test('two pages: a change made in one appears in the other without a reload', async () => {
  const watcher = await signedIn(BASE);
  await watcher.goto(`${BASE}/dashboard/inbox?status=done`);
  await watcher.getByTestId('live-status').and(watcher.locator('[data-status="live"]')).waitFor();
  await watcher.getByRole('heading', { name: 'Boîte de réception' }).waitFor();
  await card(watcher, 'Appel de découverte').waitFor();
  assert.equal(await card(watcher, 'Préparer la revue trimestrielle').count(), 0);
  const listFetches = await inboxListRequests(watcher);

  const actor = await signedIn(BASE);
  await actor.goto(`${BASE}/dashboard/inbox?assignee=unassigned`);
  const target = card(actor, 'Préparer la revue trimestrielle');
  await target.getByRole('button', { name: 'Marquer terminé' }).click();

  const arrived = card(watcher, 'Préparer la revue trimestrielle');
  await arrived.waitFor({ timeout: 5000 });
  assert.equal(await arrived.getByTestId('status').textContent(), 'Terminé');
  assert.deepEqual(listFetches, [], 'applied to the cache, not refetched');
  await watcher.screenshot({ path: `${ARTIFACTS}live-two-pages.png`, fullPage: true });
  await actor.close();
  await watcher.close();
});

test('a reminder fired elsewhere shows in the unread badge and the list, live', async (t) => {
  const reminder = process.env.RELANCE_E2E_REMINDER;
  if (!reminder) return t.skip('RELANCE_E2E_REMINDER not set (scripts/e2e.sh sets it)');
  const page = await signedIn(BASE);
  await page.getByTestId('live-status').and(page.locator('[data-status="live"]')).waitFor();
  assert.equal(await page.getByTestId('unread-badge').count(), 0);
  // An overdue action for Camille (user 1), created through the API as another tab would.
  const created = await page.evaluate(async () => {
    const response = await fetch('/api/v1/interactions', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${localStorage.getItem('relance.token')}` },
      body: JSON.stringify({ type: 'call', title: 'Rappeler Nadia tout de suite', assignee_id: 1,
                             next_action_at: new Date(Date.now() - 60_000).toISOString() }),
    });
    return response.status;
  });
  assert.equal(created, 201);
  await page.getByTestId('inbox-widget').getByText('Rappeler Nadia tout de suite').waitFor({ timeout: 5000 });

  await promisify(execFile)(reminder, ['--once'], {
    env: {
      ...process.env,
      RELANCE_ENV: 'development',
      RELANCE__DATABASE__URL: process.env.RELANCE_E2E_REMINDER_DB,
      RELANCE__NATS__NAMESPACE: process.env.RELANCE_E2E_REMINDER_NAMESPACE,
      RELANCE__REMINDER__LISTEN: '127.0.0.1:0',
    },
  });
  const badge = page.getByTestId('unread-badge');
  await badge.waitFor({ timeout: 5000 });
  assert.equal(await badge.textContent(), '1');
  await page.getByRole('button', { name: /Notifications, 1 non lue/ }).click();
  await page.getByRole('list', { name: 'Notifications' }).getByText('Rappeler Nadia tout de suite').waitFor();
  await page.screenshot({ path: `${ARTIFACTS}live-notification.png`, fullPage: true });
  await page.getByRole('button', { name: 'Marquer comme lue' }).click();
  await badge.waitFor({ state: 'detached' });
  await page.close();
});
