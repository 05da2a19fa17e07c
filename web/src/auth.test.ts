import { describe, expect, it } from 'vitest';

import { currentPage, safeReturnTo } from './auth';

describe('sign-in return', () => {
  it('goes back to a page of the app only', () => {
    expect(safeReturnTo('/dashboard/inbox?assignee=me')).toBe('/dashboard/inbox?assignee=me');
    expect(safeReturnTo(undefined)).toBe('/dashboard');
    expect(safeReturnTo('https://evil.example/')).toBe('/dashboard');
    expect(safeReturnTo('//evil.example/')).toBe('/dashboard');
    expect(safeReturnTo('/\\evil.example/')).toBe('/dashboard');
  });

  it('remembers the page the user was on, not the sign-in steps', () => {
    window.history.replaceState(null, '', '/dashboard/inbox?due=overdue');
    expect(currentPage()).toBe('/dashboard/inbox?due=overdue');
    window.history.replaceState(null, '', '/auth/callback?code=x');
    expect(currentPage()).toBe('/dashboard');
  });
});
