// Applying live events to the TanStack Query cache, without refetching lists: an interaction
// is replaced where it is shown, inserted where the inbox order puts it when it now matches a
// cached filter (within the pages already loaded), and removed where it no longer matches;
// totals follow. Stats are refetched, debounced, since an event does not say what the
// interaction was before.
import type { InfiniteData, QueryClient } from '@tanstack/react-query';

import type { Filters, InboxPage, Interaction, Notifications } from './api';
import type { InteractionEvent, NotificationEvent } from './live';

/** Whether `item` belongs in the inbox under `filters`, for user `me`, at `now` (local time
 *  zone, the one the inbox queries are sent with). */
export function matches(item: Interaction, filters: Filters, me: number | null, now: Date): boolean {
  if (filters.status ? item.status !== filters.status : item.status === 'done') return false;
  const a = filters.assignee;
  if (a === 'me' && item.assignee_id !== me) return false;
  if (a === 'unassigned' && item.assignee_id !== null) return false;
  if (a && a !== 'me' && a !== 'unassigned' && item.assignee_id !== Number(a)) return false;
  if (filters.type && !filters.type.split(',').includes(item.type)) return false;
  if (filters.person_id && item.person_id !== Number(filters.person_id)) return false;
  if (filters.organisation_id && item.organisation_id !== Number(filters.organisation_id)) return false;
  if (filters.from || filters.to) {
    if (!item.next_action_at) return false;
    const at = new Date(item.next_action_at).getTime();
    if (filters.from && at < new Date(filters.from).getTime()) return false;
    if (filters.to && at >= new Date(filters.to).getTime()) return false;
  }
  const due = filters.due || 'all';
  if (due === 'all') return true;
  if (!item.next_action_at) return false;
  const at = new Date(item.next_action_at).getTime();
  if (due === 'overdue') return at < now.getTime();
  const start = new Date(now);
  start.setHours(0, 0, 0, 0);
  const end = new Date(start);
  end.setDate(end.getDate() + (due === 'today' ? 1 : 7));
  return at >= start.getTime() && at < end.getTime();
}

/** The inbox order: next action ascending (none last), then newest first, then id. */
export function compare(a: Interaction, b: Interaction): number {
  const na = a.next_action_at ? new Date(a.next_action_at).getTime() : Infinity;
  const nb = b.next_action_at ? new Date(b.next_action_at).getTime() : Infinity;
  if (na !== nb) return na < nb ? -1 : 1;
  const ca = new Date(a.created_at).getTime();
  const cb = new Date(b.created_at).getTime();
  if (ca !== cb) return cb < ca ? -1 : 1;
  return b.id - a.id;
}

/** One cached inbox (all its loaded pages) after `event`. */
export function applyToPages(
  data: InfiniteData<InboxPage>,
  event: InteractionEvent,
  filters: Filters,
  me: number | null,
  now: Date,
): InfiniteData<InboxPage> {
  const id = event.interaction_id;
  const item = event.interaction;
  const present = data.pages.some((p) => p.items.some((i) => i.id === id));
  const belongs = item !== null && matches(item, filters, me, now);
  if (!present && !belongs) return data;
  let pages = data.pages.map((p) => ({ ...p, items: p.items.filter((i) => i.id !== id) }));
  let delta = present ? -1 : 0;
  if (belongs && item) {
    delta += 1;
    const complete = pages[pages.length - 1]?.cursor === null;
    // Where it goes: right after the last loaded item that sorts before it (so an edited item
    // stays on its page when its place has not changed). Past the last loaded item of an
    // incomplete list, a later page will bring it (the cursor is a position, not an offset).
    let after: [number, number] | null = null;
    pages.forEach((p, pi) => p.items.forEach((x, xi) => { if (compare(x, item) < 0) after = [pi, xi]; }));
    const lastPage = pages.length - 1;
    const atEnd = (pos: [number, number] | null) =>
      pos !== null && pos[0] === lastPage && pos[1] === pages[lastPage].items.length - 1;
    if (pages.length > 0 && (complete || !atEnd(after))) {
      const [pi, xi] = after ?? [0, -1];
      const p = pages[pi];
      pages[pi] = { ...p, items: [...p.items.slice(0, xi + 1), item, ...p.items.slice(xi + 1)] };
    }
  }
  return { ...data, pages: pages.map((p) => ({ ...p, total: Math.max(0, p.total + delta) })) };
}

let statsTimer: ReturnType<typeof setTimeout> | null = null;

export function applyInteractionEvent(client: QueryClient, event: InteractionEvent, me: number | null, now = new Date()) {
  for (const query of client.getQueryCache().findAll({ queryKey: ['inbox'] })) {
    const filters = query.queryKey[1] as Filters;
    // Whether an item matches `q` is the server's to say (its accent folding, the person's
    // name and email), and so is a team's membership: such a list is refetched instead.
    if (filters.q || filters.team) {
      void client.invalidateQueries({ queryKey: query.queryKey, exact: true });
      continue;
    }
    client.setQueryData<InfiniteData<InboxPage>>(query.queryKey, (data) =>
      data ? applyToPages(data, event, filters, me, now) : data,
    );
  }
  if (event.interaction) client.setQueryData(['interaction', event.interaction_id], event.interaction);
  if (statsTimer === null) {
    statsTimer = setTimeout(() => {
      statsTimer = null;
      void client.invalidateQueries({ queryKey: ['stats'] });
    }, 500);
  }
}

export function applyNotificationEvent(client: QueryClient, event: NotificationEvent) {
  client.setQueryData<Notifications>(['notifications'], (data) =>
    data && !data.items.some((n) => n.id === event.id)
      ? { items: [{ ...event, read_at: null }, ...data.items], unread: data.unread + 1 }
      : data,
  );
}
