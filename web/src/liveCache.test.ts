import type { InfiniteData } from '@tanstack/react-query';
import { QueryClient } from '@tanstack/react-query';
import { describe, expect, it } from 'vitest';

import type { Filters, InboxPage, Interaction } from './api';
import { applyInteractionEvent, applyNotificationEvent, applyToPages, matches } from './liveCache';

const NOW = new Date('2026-11-24T10:00:00Z');
const all: Filters = { assignee: '', status: '', due: 'all' };

function item(id: number, over: Partial<Interaction> = {}): Interaction {
  return {
    id, type: 'call', title: `Action ${id}`, description: null, status: 'todo',
    assignee_id: 1, assignee_name: 'Alice', next_action_at: null, notified_at: null,
    person_id: null, person_name: null, organisation_id: null, organisation_name: null,
    created_at: '2026-11-01T00:00:00Z', updated_at: '2026-11-01T00:00:00Z', ...over,
  };
}

function data(pages: Interaction[][], lastCursor: string | null = null): InfiniteData<InboxPage> {
  const total = pages.flat().length;
  return {
    pages: pages.map((items, i) => ({ items, total, total_is_lower_bound: false, limit: 2, cursor: i === pages.length - 1 ? lastCursor : `c${i}` })),
    pageParams: pages.map((_, i) => (i === 0 ? null : `c${i - 1}`)),
  };
}

const ids = (d: InfiniteData<InboxPage>) => d.pages.map((p) => p.items.map((i) => i.id));
const updated = (i: Interaction) => ({ change: 'updated' as const, interaction_id: i.id, interaction: i });

describe('matches', () => {
  it('follows the inbox filters', () => {
    const table: [Partial<Interaction>, Filters, boolean][] = [
      [{ status: 'done' }, all, false],
      [{ status: 'done' }, { ...all, status: 'done' }, true],
      [{ status: 'todo' }, { ...all, status: 'in_progress' }, false],
      [{ assignee_id: 1 }, { ...all, assignee: 'me' }, true],
      [{ assignee_id: 2 }, { ...all, assignee: 'me' }, false],
      [{ assignee_id: null }, { ...all, assignee: 'unassigned' }, true],
      [{ assignee_id: 2 }, { ...all, assignee: '2' }, true],
      [{ next_action_at: '2026-11-24T09:00:00Z' }, { ...all, due: 'overdue' }, true],
      [{ next_action_at: '2026-11-24T11:00:00Z' }, { ...all, due: 'overdue' }, false],
      [{ next_action_at: null }, { ...all, due: 'overdue' }, false],
      [{ next_action_at: '2026-11-24T11:00:00Z' }, { ...all, due: 'week' }, true],
      [{ next_action_at: '2026-12-24T11:00:00Z' }, { ...all, due: 'week' }, false],
    ];
    for (const [over, filters, expected] of table) {
      expect(matches(item(1, over), filters, 1, NOW), JSON.stringify([over, filters])).toBe(expected);
    }
  });
});

describe('applyToPages', () => {
  const a = item(1, { next_action_at: '2026-11-20T00:00:00Z' });
  const b = item(2, { next_action_at: '2026-11-22T00:00:00Z' });
  const c = item(3, { next_action_at: '2026-11-26T00:00:00Z' });
  const d = item(4);

  it('replaces in place, keeping the order and the total', () => {
    const next = applyToPages(data([[a, b], [c]]), updated({ ...b, title: 'Nouveau' }), all, 1, NOW);
    expect(ids(next)).toEqual([[1, 2], [3]]);
    expect(next.pages[0].items[1].title).toBe('Nouveau');
    expect(next.pages[0].total).toBe(3);
  });

  it('inserts a new match where the order puts it and counts it', () => {
    const e = item(5, { next_action_at: '2026-11-21T00:00:00Z' });
    const next = applyToPages(data([[a, b], [c]]), { change: 'created', interaction_id: 5, interaction: e }, all, 1, NOW);
    expect(ids(next)).toEqual([[1, 5, 2], [3]]);
    expect(next.pages.every((p) => p.total === 4)).toBe(true);
  });

  it('moves an item whose due time changed', () => {
    const next = applyToPages(data([[a, b], [c, d]]), updated({ ...a, next_action_at: '2026-11-25T00:00:00Z' }), all, 1, NOW);
    expect(ids(next)).toEqual([[2, 1], [3, 4]]);
    expect(next.pages[0].total).toBe(4);
  });

  it('removes what no longer matches, and a deleted one', () => {
    const done = applyToPages(data([[a, b]]), updated({ ...a, status: 'done' }), all, 1, NOW);
    expect(ids(done)).toEqual([[2]]);
    expect(done.pages[0].total).toBe(1);
    const deleted = applyToPages(data([[a, b]]), { change: 'deleted', interaction_id: 2, interaction: null }, all, 1, NOW);
    expect(ids(deleted)).toEqual([[1]]);
  });

  it('leaves past the loaded pages to the next page, appends when everything is loaded', () => {
    const late = item(6, { next_action_at: '2026-12-30T00:00:00Z' });
    const event = { change: 'created' as const, interaction_id: 6, interaction: late };
    const partial = applyToPages(data([[a, b]], 'more'), event, all, 1, NOW);
    expect(ids(partial)).toEqual([[1, 2]]);
    expect(partial.pages[0].total).toBe(3);
    expect(ids(applyToPages(data([[a, b]]), event, all, 1, NOW))).toEqual([[1, 2, 6]]);
  });

  it('ignores what neither was shown nor matches', () => {
    const before = data([[a, b]]);
    expect(applyToPages(before, updated(item(9, { status: 'done' })), all, 1, NOW)).toBe(before);
  });
});

describe('the cache', () => {
  it('updates every cached inbox and the unread count, without fetching', () => {
    const client = new QueryClient();
    const a = item(1);
    client.setQueryData(['inbox', all, 20], data([[a]]));
    client.setQueryData(['inbox', { ...all, assignee: 'unassigned' }, 20], data([[]]));
    applyInteractionEvent(client, updated({ ...a, assignee_id: null }), 1, NOW);
    expect(ids(client.getQueryData(['inbox', all, 20])!)).toEqual([[1]]);
    expect(ids(client.getQueryData(['inbox', { ...all, assignee: 'unassigned' }, 20])!)).toEqual([[1]]);

    // A team's list is the server's to decide (its members): it is refetched, not patched.
    const team = ['inbox', { ...all, team: 'crm-t-1' }, 20];
    client.setQueryData(team, data([[]]));
    applyInteractionEvent(client, updated({ ...a, assignee_id: 2 }), 1, NOW);
    expect(client.getQueryState(team)?.isInvalidated).toBe(true);
    expect(ids(client.getQueryData(team)!)).toEqual([[]]);

    client.setQueryData(['notifications'], { items: [], unread: 2 });
    const n = { id: 7, kind: 'interaction_overdue', interaction_id: 1, title: 'En retard', due_at: null, created_at: '2026-11-24T10:00:00Z' };
    applyNotificationEvent(client, n);
    applyNotificationEvent(client, n); // a replay after a reconnect counts once
    expect(client.getQueryData<{ unread: number }>(['notifications'])?.unread).toBe(3);
  });
});

describe('advanced filters on live events', () => {
  const item = {
    id: 9, type: 'email' as const, title: 'Relance', description: null, status: 'todo' as const,
    assignee_id: 1, assignee_name: 'Camille', next_action_at: '2026-12-03T09:00:00Z', notified_at: null,
    person_id: 4, person_name: 'Thomas Roux', organisation_id: 3, organisation_name: 'Rapides',
    created_at: '2026-12-01T00:00:00Z', updated_at: '2026-12-01T00:00:00Z',
  };
  const now = new Date('2026-12-02T12:00:00Z');
  const base = { assignee: '', status: '', due: 'all' };
  it('checks type, person, organisation and the date range', () => {
    expect(matches(item, { ...base, type: 'call,email' }, 1, now)).toBe(true);
    expect(matches(item, { ...base, type: 'call' }, 1, now)).toBe(false);
    expect(matches(item, { ...base, person_id: '4' }, 1, now)).toBe(true);
    expect(matches(item, { ...base, person_id: '5' }, 1, now)).toBe(false);
    expect(matches(item, { ...base, organisation_id: '2' }, 1, now)).toBe(false);
    expect(matches(item, { ...base, from: '2026-12-03T00:00:00+01:00', to: '2026-12-04T00:00:00+01:00' }, 1, now)).toBe(true);
    expect(matches(item, { ...base, to: '2026-12-03T09:00:00Z' }, 1, now)).toBe(false);
    expect(matches({ ...item, next_action_at: null }, { ...base, from: '2026-12-01T00:00:00Z' }, 1, now)).toBe(false);
  });
});
