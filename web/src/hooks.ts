// Data hooks. Quick actions are optimistic: every cached inbox page shows the change at once, a
// refusal restores the snapshot and reports it, and the inbox, stats and widgets are refetched
// when the call settles, whatever its outcome.
import { useInfiniteQuery, useMutation, useQuery, useQueryClient, type InfiniteData, type QueryKey } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';

import {
  api,
  type BulkSet,
  type BulkTarget,
  type Filters,
  type InboxPage,
  type Interaction,
  type InteractionEdit,
  type NewInteraction,
  type Preferences,
  type Status,
} from './api';
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

export function useHotLeads(limit = 5, threshold?: number) {
  return useQuery({ queryKey: [...keys.hotLeads, limit, threshold ?? null], queryFn: () => api.hotLeads(limit, threshold) });
}

export const useInteraction = (id: number | null) =>
  useQuery({ queryKey: ['interaction', id], queryFn: () => api.interaction(id as number), enabled: id !== null, retry: false });
export const useHistory = (id: number) =>
  useQuery({ queryKey: ['interaction', id, 'history'], queryFn: () => api.history(id), retry: false });
export const usePerson = (id: number, enabled = true) =>
  useQuery({ queryKey: ['person', id], queryFn: () => api.person(id), retry: false, enabled: enabled && id > 0 });
export const usePersonScore = (id: number) => useQuery({ queryKey: ['person-score', id], queryFn: () => api.personScore(id), retry: false });
export const usePersonSends = (id: number) => useQuery({ queryKey: ['person-sends', id], queryFn: () => api.personSends(id), retry: false });
export const useOrganisation = (id: number, enabled = true) =>
  useQuery({ queryKey: ['organisation', id], queryFn: () => api.organisation(id), retry: false, enabled: enabled && id > 0 });
export const useUsers = () => useQuery({ queryKey: ['users'], queryFn: api.users, staleTime: 5 * 60_000 });
export const useTeams = () => useQuery({ queryKey: ['teams'], queryFn: api.teams, staleTime: 5 * 60_000 });
export const usePeopleSearch = (q: string) =>
  useQuery({ queryKey: ['people', q], queryFn: () => api.people(q), enabled: q.trim().length >= 2, staleTime: 30_000 });

export type QuickAction =
  | { id: number; kind: 'status'; status: Status }
  | { id: number; kind: 'next-action'; nextActionAt: string | null }
  | { id: number; kind: 'assignee'; assigneeId: number | null; assigneeName: string | null };

function patch(item: Interaction, action: QuickAction): Interaction {
  if (item.id !== action.id) return item;
  switch (action.kind) {
    case 'status':
      return { ...item, status: action.status };
    case 'next-action':
      return { ...item, next_action_at: action.nextActionAt, notified_at: null };
    case 'assignee':
      return { ...item, assignee_id: action.assigneeId, assignee_name: action.assigneeName };
  }
}

function run(action: QuickAction) {
  switch (action.kind) {
    case 'status':
      return api.setStatus(action.id, action.status);
    case 'next-action':
      return api.setNextAction(action.id, action.nextActionAt);
    case 'assignee':
      return api.setAssignee(action.id, action.assigneeId);
  }
}

type Snapshot = [QueryKey, InfiniteData<InboxPage> | undefined][];

/** Refetches what an interaction change can move: lists, counts, the widgets' and pages' data. */
function refetchAfterChange(queryClient: ReturnType<typeof useQueryClient>) {
  return Promise.all(
    ['inbox', 'stats', 'interaction'].map((key) => queryClient.invalidateQueries({ queryKey: [key] })),
  );
}

export function useQuickAction(onError: (message: string) => void) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: run,
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
    onSettled: () => refetchAfterChange(queryClient),
  });
}

export function useEdit() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, edit }: { id: number; edit: InteractionEdit }) => api.edit(id, edit),
    onSuccess: (item) => queryClient.setQueryData(['interaction', item.id], item),
    onSettled: () => refetchAfterChange(queryClient),
  });
}

export function useCreate() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: NewInteraction) => api.create(body),
    onSettled: () => refetchAfterChange(queryClient),
  });
}

export function useBulk() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ target, set }: { target: BulkTarget; set: BulkSet }) => api.bulk(target, set),
    onSettled: () => refetchAfterChange(queryClient),
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

export function useReadAll() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: api.readAll,
    onSettled: () => queryClient.invalidateQueries({ queryKey: ['notifications'] }),
  });
}

export function useSetPreferences() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (change: Partial<Preferences>) => api.setPreferences(change),
    onSettled: () => queryClient.invalidateQueries({ queryKey: ['me'] }),
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

/** `value`, once it has not changed for `ms`. */
export function useDebounced<T>(value: T, ms = 300): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}
