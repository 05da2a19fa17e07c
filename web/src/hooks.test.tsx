import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, renderHook, waitFor } from '@testing-library/react';
import type { ReactNode } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';

import type { InboxPage } from './api';
import { useInbox, useQuickAction } from './hooks';

const filters = { assignee: '', status: '', due: '' };

function page(status: 'todo' | 'done' = 'todo'): InboxPage {
  return {
    items: [
      {
        id: 1, type: 'call', title: 'Rappeler Sophie', description: null, status,
        assignee_id: 1, assignee_name: 'Camille', next_action_at: '2026-11-20T10:00:00Z', notified_at: null,
        person_id: 1, person_name: 'Sophie Durand', organisation_id: null, organisation_name: null,
        created_at: '2026-11-01T00:00:00Z', updated_at: '2026-11-01T00:00:00Z',
      },
    ],
    total: 1, total_is_lower_bound: false, limit: 20, cursor: null,
  };
}

function json(body: unknown, status = 200) {
  return Promise.resolve(new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } }));
}

function setup() {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  const wrapper = ({ children }: { children: ReactNode }) => <QueryClientProvider client={client}>{children}</QueryClientProvider>;
  const errors: string[] = [];
  const { result } = renderHook(() => ({ inbox: useInbox(filters), action: useQuickAction((m) => errors.push(m)) }), { wrapper });
  return { result, errors };
}

afterEach(() => vi.restoreAllMocks());

describe('useQuickAction', () => {
  it('shows the change at once, then refetches when the call settles', async () => {
    let release: (r: Response) => void = () => {};
    const fetchMock = vi.spyOn(globalThis, 'fetch').mockImplementation((_input, init) => {
      if (init?.method === 'PATCH') return new Promise<Response>((resolve) => (release = resolve));
      return json(page(fetchMock.mock.calls.length > 2 ? 'done' : 'todo'));
    });
    const { result } = setup();
    await waitFor(() => expect(result.current.inbox.data?.pages[0].items[0].status).toBe('todo'));
    act(() => result.current.action.mutate({ id: 1, kind: 'status', status: 'done' }));
    await waitFor(() => expect(result.current.inbox.data?.pages[0].items[0].status).toBe('done'));
    const getsBefore = fetchMock.mock.calls.filter(([, i]) => !i?.method).length;
    release(new Response(JSON.stringify(page('done').items[0]), { status: 200 }));
    await waitFor(() => expect(fetchMock.mock.calls.filter(([, i]) => !i?.method).length).toBeGreaterThan(getsBefore));
  });

  it('rolls back and reports when the API refuses', async () => {
    vi.spyOn(globalThis, 'fetch').mockImplementation((_input, init) =>
      init?.method === 'PATCH'
        ? json({ type: 'x', title: 'Invalid request', status: 422, detail: '1 invalid field(s)', errors: [{ field: 'next_action_at', message: 'invalid' }] }, 422)
        : json(page()),
    );
    const { result, errors } = setup();
    await waitFor(() => expect(result.current.inbox.data).toBeDefined());
    act(() => result.current.action.mutate({ id: 1, kind: 'next-action', nextActionAt: '2026-11-21T10:00:00Z' }));
    await waitFor(() => expect(errors).toHaveLength(1));
    expect(errors[0]).toContain('next_action_at');
    expect(result.current.inbox.data?.pages[0].items[0].next_action_at).toBe('2026-11-20T10:00:00Z');
  });
});
