// Data hooks. Quick actions are optimistic: every cached inbox page shows the change at once, a
// refusal restores the snapshot and reports it, and the inbox, stats and widgets are refetched
// when the call settles, whatever its outcome.
import { useInfiniteQuery, useMutation, useQuery, useQueryClient, type InfiniteData, type QueryKey } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';

import { api, type Filters, type InboxPage, type Interaction, type Status } from './api';
import { connectLive, type LiveStatus } from './live';
import { applyInteractionEvent, applyNotificationEvent } from './liveCache';

export const keys = {
  inbox: (filters: Filters, limit: number) => ['inbox', filters, limit] as const,
  stats: (filters: Filters) => ['stats', filters] as const,
  hotLeads: ['hot-leads'] as const,
};

export function useInbox(filters: Filters, limit = 20) {
  return useInfiniteQuery({
    queryKey: keys.inbox(filters, limit),
    queryFn: ({ pageParam }) => api.inbox(filters, pageParam, limit),
    initialPageParam: null as string | null,
    getNextPageParam: (last: InboxPage) => last.cursor,
  });
}

export function useInboxStats(filters: Filters) {
  return useQuery({ queryKey: keys.stats(filters), queryFn: () => api.stats(filters) });
}

export function useHotLeads(limit = 5) {
  return useQuery({ queryKey: [...keys.hotLeads, limit], queryFn: () => api.hotLeads(limit) });
}

export type QuickAction =
  | { id: number; kind: 'status'; status: Status }
  | { id: number; kind: 'next-action'; nextActionAt: string | null };

function patch(item: Interaction, action: QuickAction): Interaction {
  if (item.id !== action.id) return item;
  return action.kind === 'status'
    ? { ...item, status: action.status }
    : { ...item, next_action_at: action.nextActionAt, notified_at: null };
}

type Snapshot = [QueryKey, InfiniteData<InboxPage> | undefined][];

export function useQuickAction(onError: (message: string) => void) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (action: QuickAction) =>
      action.kind === 'status' ? api.setStatus(action.id, action.status) : api.setNextAction(action.id, action.nextActionAt),
    onMutate: async (action): Promise<{ snapshot: Snapshot }> => {
      await queryClient.cancelQueries({ queryKey: ['inbox'] });
      const snapshot = queryClient.getQueriesData<InfiniteData<InboxPage>>({ queryKey: ['inbox'] });
      queryClient.setQueriesData<InfiniteData<InboxPage>>({ queryKey: ['inbox'] }, (data) =>
        data && { ...data, pages: data.pages.map((page) => ({ ...page, items: page.items.map((item) => patch(item, action)) })) },
      );
      return { snapshot };
    },
    onError: (error, _action, context) => {
      for (const [key, data] of context?.snapshot ?? []) queryClient.setQueryData(key, data);
      onError(`Action refusée : ${error instanceof Error ? error.message : String(error)}`);
    },
    onSettled: () =>
      Promise.all([
        queryClient.invalidateQueries({ queryKey: ['inbox'] }),
        queryClient.invalidateQueries({ queryKey: ['stats'] }),
      ]),
  });
}

export function useNotifications() {
  return useQuery({ queryKey: ['notifications'], queryFn: api.notifications });
}

export function useMarkRead() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: number) => api.markRead(id),
    onSettled: () => queryClient.invalidateQueries({ queryKey: ['notifications'] }),
  });
}

/** Keeps the cache in step with the server's live feed while mounted; returns its status. */
export function useLive(me: number | null): LiveStatus {
  const queryClient = useQueryClient();
  const [status, setStatus] = useState<LiveStatus>('connecting');
  const meRef = useRef(me);
  useEffect(() => {
    meRef.current = me;
  }, [me]);
  useEffect(
    () =>
      connectLive({
        onInteraction: (event) => applyInteractionEvent(queryClient, event, meRef.current),
        onNotification: (event) => applyNotificationEvent(queryClient, event),
        onReset: () => void queryClient.invalidateQueries(),
        onStatus: setStatus,
      }),
    [queryClient],
  );
  return status;
}
