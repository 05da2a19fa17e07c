import { afterEach, describe, expect, it, vi } from 'vitest';

import { api, ApiError, bulkFilter, session, SIGNED_OUT_EVENT } from './api';

function reply(body: unknown, status = 200) {
  return Promise.resolve(new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } }));
}

afterEach(() => {
  vi.unstubAllGlobals();
  session.clear();
});

describe('the API client', () => {
  it('a 401 ends the session and tells the app', async () => {
    session.save('old-token');
    vi.stubGlobal('fetch', vi.fn(() => reply({ title: 'Unauthorized', status: 401, detail: 'expired' }, 401)));
    const signedOut = vi.fn();
    window.addEventListener(SIGNED_OUT_EVENT, signedOut);
    await expect(api.users()).rejects.toMatchObject({ status: 401 });
    window.removeEventListener(SIGNED_OUT_EVENT, signedOut);
    expect(signedOut).toHaveBeenCalledOnce();
    expect(session.token()).toBeNull();
  });

  it('a response that breaks the contract is a readable error, not a crash', async () => {
    vi.stubGlobal('fetch', vi.fn(() => reply({ id: 'not-a-number', full_name: 'x', email: 'y' })));
    const error = await api.person(1).catch((e) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error.message).toMatch(/^Réponse inattendue du serveur \(\/api\/v1\/people\/1\)/);
  });

  it('names the refused fields of a problem+json', async () => {
    vi.stubGlobal('fetch', vi.fn(() => reply({ status: 422, errors: [{ field: 'title', message: 'must be 1 to 500 characters' }] }, 422)));
    await expect(api.edit(1, { title: '' })).rejects.toThrow('title : must be 1 to 500 characters');
  });

  it('a network failure says so in French', async () => {
    vi.stubGlobal('fetch', vi.fn(() => Promise.reject(new TypeError('Failed to fetch'))));
    await expect(api.users()).rejects.toThrow('Le serveur ne répond pas');
  });

  it('sends bulk-by-filter with numeric ids and the time zone', () => {
    expect(bulkFilter({ assignee: 'me', status: '', due: 'all', person_id: '4', q: 'devis' })).toMatchObject({
      assignee: 'me', due: 'all', person_id: 4, q: 'devis',
    });
  });
});
