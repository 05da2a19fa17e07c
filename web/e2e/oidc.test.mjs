// Sign-in with a real OpenID provider (oidc-provider, started by scripts/e2e.sh) in Debian's
// Chromium: from a page of the inbox, through the provider's login page (code + PKCE), back to
// that same page as the right user; the token renewed before it expires; then sign-out through
// the provider.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ARTIFACTS, useBrowser } from './browser.mjs';

const BASE = process.env.RELANCE_E2E_OIDC_URL;
const ISSUER = process.env.RELANCE_E2E_OIDC_ISSUER;

const browser = useBrowser();

test('sign in with the company provider, land back on the page as yourself, stay signed in, sign out', async (t) => {
  if (!BASE || !ISSUER) return t.skip('RELANCE_E2E_OIDC_URL not set (scripts/e2e.sh sets it)');
  const page = await browser().newPage({ viewport: { width: 1280, height: 900 }, locale: 'fr-FR' });
  // 1. Not signed in, on a filtered inbox page: the sign-in screen offers the provider.
  await page.goto(`${BASE}/dashboard/inbox?assignee=me&due=overdue`);
  const provider = page.getByRole('button', { name: "Se connecter avec le compte de l'entreprise" });
  await provider.waitFor();
  // 2. The provider's own login page (code + PKCE: the request carries a challenge).
  await provider.click();
  await page.waitForURL((url) => url.href.startsWith(ISSUER));
  await page.locator('input[name="login"]').fill('camille.martin');
  await page.locator('input[name="password"]').fill('any password');
  await page.screenshot({ path: `${ARTIFACTS}oidc-provider-login.png` });
  await page.locator('button[type="submit"]').click();
  // 3. Back through /auth/callback to the page the user was on, signed in as Camille.
  await page.waitForURL(`${BASE}/dashboard/inbox?assignee=me&due=overdue`);
  await page.getByRole('article', { name: 'Rappeler Sophie pour le devis' }).waitFor();
  await page.getByText('Camille Martin').first().waitFor();
  assert.equal(await page.getByLabel('Assigné', { exact: true }).inputValue(), 'me');
  const token = await page.evaluate(() => localStorage.getItem('relance.token'));
  const header = JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString());
  assert.equal(header.alg, 'ES256', 'the API gets the provider access token');
  await page.screenshot({ path: `${ARTIFACTS}oidc-signed-in.png`, fullPage: true });
  // 4. The token lives 75 s (scripts/e2e.sh): renewed silently a minute before it expires.
  await page.waitForFunction((old) => {
    const now = localStorage.getItem('relance.token');
    return now && now !== old;
  }, token, { timeout: 40_000 });
  await page.reload();
  await page.getByRole('article', { name: 'Rappeler Sophie pour le devis' }).waitFor();
  // 5. Sign-out goes through the provider and ends on the sign-in screen.
  await page.getByRole('button', { name: 'Se déconnecter' }).click();
  await page.waitForURL((url) => url.href.startsWith(ISSUER));
  const confirm = page.locator('button[autofocus], button[type="submit"]').first();
  await confirm.click();
  await page.waitForURL((url) => url.href.startsWith(BASE));
  await page.getByRole('button', { name: "Se connecter avec le compte de l'entreprise" }).waitFor();
  assert.equal(await page.evaluate(() => localStorage.getItem('relance.token')), null);
  await page.close();
});
