// Sign-in with the company's OpenID provider (authorization code + PKCE, oidc-client-ts): the
// server says which provider (GET /api/v1/auth/config); the access token it returns is the
// API's bearer token, renewed before it expires (silently, in an iframe), and the user comes
// back to the page they were on.
import { UserManager, WebStorageStateStore } from 'oidc-client-ts';

import { session, type OidcConfig } from './api';

let manager: UserManager | null = null;

function managerFor(config: OidcConfig): UserManager {
  if (!manager) {
    manager = new UserManager({
      authority: config.issuer,
      client_id: config.client_id,
      redirect_uri: `${window.location.origin}/auth/callback`,
      silent_redirect_uri: `${window.location.origin}/auth/silent`,
      post_logout_redirect_uri: `${window.location.origin}/`,
      response_type: 'code',
      scope: config.scopes,
      automaticSilentRenew: true,
      userStore: new WebStorageStateStore({ store: window.localStorage }),
    });
    // A renewed token replaces the API's bearer token.
    manager.events.addUserLoaded((user) => session.save(user.access_token));
  }
  return manager;
}

/** Off to the provider's sign-in page; back to `returnTo` afterwards. */
export async function signIn(config: OidcConfig, returnTo: string): Promise<void> {
  await managerFor(config).signinRedirect({ state: { returnTo } });
}

/** On `/auth/callback`: exchanges the code, keeps the token, and says where to go back to. */
export async function completeSignIn(config: OidcConfig): Promise<string> {
  const user = await managerFor(config).signinRedirectCallback();
  session.save(user.access_token);
  return safeReturnTo((user.state as { returnTo?: string } | undefined)?.returnTo);
}

/** Only a path of this app is a place to go back to (no open redirect through the state). */
export function safeReturnTo(returnTo: string | undefined): string {
  return returnTo && returnTo.startsWith('/') && !returnTo.startsWith('//') && !returnTo.startsWith('/\\')
    ? returnTo
    : '/dashboard';
}

/** On `/auth/silent` (in the renewal iframe). */
export async function completeSilentRenew(config: OidcConfig): Promise<void> {
  await managerFor(config).signinSilentCallback();
}

/** Signs out of Relance and of the provider. */
export async function signOut(config: OidcConfig): Promise<void> {
  session.clear();
  await managerFor(config).signoutRedirect();
}

/** Where the user wanted to be when the sign-in started: the current page, not the sign-in. */
export function currentPage(): string {
  const { pathname, search } = window.location;
  if (pathname === '/login') return safeReturnTo(new URLSearchParams(search).get('next') ?? undefined);
  return pathname.startsWith('/auth') ? '/dashboard' : `${pathname}${search}`;
}
