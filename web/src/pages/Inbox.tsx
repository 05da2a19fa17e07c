// The inbox page: the filter bar (inbox/FilterBar), the stats cards (inbox/InboxStats), the
// bulk bar over a selection (inbox/BulkBar, inbox/useSelection), the cards with keyboard
// triage (inbox/useTriageKeys), the new follow-up dialog and the detail panel.
import { useCallback, useMemo, useState } from 'react';
import { useSearchParams } from 'react-router';

import { api, bulkFilter, type BulkSet, type BulkTarget, type Filters, type Interaction } from '../api';
import { DetailPanel } from '../components/DetailPanel';
import { ErrorBox } from '../components/ErrorBox';
import { InteractionCard } from '../components/InteractionCard';
import { NewInteractionForm, type Draft } from '../components/NewInteractionForm';
import { readFilters, toApi, writeFilters } from '../filters';
import { formatTotal, snooze } from '../format';
import { fr } from '../fr';
import { useBulk, useInbox, useInboxStats, useQuickAction, useTeams, useUsers } from '../hooks';
import { BulkBar } from './inbox/BulkBar';
import { FilterBar } from './inbox/FilterBar';
import { InboxStats } from './inbox/InboxStats';
import { KeyboardHelp } from './inbox/KeyboardHelp';
import { useSelection } from './inbox/useSelection';
import { useTriageKeys } from './inbox/useTriageKeys';

type Message = { ok: boolean; text: string };

/** "Terminé et planifier la suivante": the next follow-up's draft, from the one done. */
function nextDraft(item: Interaction): Draft {
  return {
    type: item.type,
    title: item.title,
    person: item.person_id
      ? { id: item.person_id, name: item.person_name ?? fr.common.person(item.person_id), organisationId: item.organisation_id }
      : null,
    assigneeId: item.assignee_id,
    nextActionAt: snooze(null, 7),
  };
}

const EMPTY_DRAFT: Draft = { type: 'call', title: '', person: null, assigneeId: null, nextActionAt: null };

export function Inbox() {
  const [search, setSearch] = useSearchParams();
  const filters = useMemo(() => readFilters(search), [search]);
  const apiFilters = useMemo(() => toApi(filters), [filters]);
  const setFilters = useCallback(
    (next: Filters) => setSearch(writeFilters(next, search), { replace: true }),
    [search, setSearch],
  );

  const [message, setMessage] = useState<Message | null>(null);
  const refused = (what: string, e: unknown) => setMessage({ ok: false, text: `${what} : ${e instanceof Error ? e.message : String(e)}` });
  const users = useUsers();
  const teams = useTeams();
  const inbox = useInbox(apiFilters);
  const stats = useInboxStats(apiFilters);
  const action = useQuickAction((text) => setMessage({ ok: false, text }));
  const bulk = useBulk();
  const items = useMemo(() => inbox.data?.pages.flatMap((p) => p.items) ?? [], [inbox.data]);
  const total = inbox.data?.pages[0]?.total ?? 0;
  const totalLabel = formatTotal(total, inbox.data?.pages[0]?.total_is_lower_bound);

  const selection = useSelection(search);
  const runBulk = (set: BulkSet) => {
    const target: BulkTarget = selection.allMatching ? { filter: bulkFilter(apiFilters) } : { ids: [...selection.selected] };
    bulk.mutate(
      { target, set },
      {
        onSuccess: (r) => {
          setMessage({ ok: true, text: fr.inbox.bulkResult(r.matched, r.changed) });
          selection.clear();
        },
        onError: (e) => refused(fr.inbox.bulkRefused, e),
      },
    );
  };

  // New follow-up, and "done, plan the next one".
  const [draft, setDraft] = useState<{ heading: string; draft: Draft } | null>(null);
  const doneAndNext = (item: Interaction) => {
    action.mutate({ id: item.id, kind: 'status', status: 'done' });
    setDraft({ heading: fr.create.nextTitle, draft: nextDraft(item) });
  };

  // The detail panel follows `?interaction=`, so an email's link opens it.
  const openId = Number(search.get('interaction')) || null;
  const open = (id: number | null) => {
    const next = new URLSearchParams(search);
    if (id) next.set('interaction', String(id));
    else next.delete('interaction');
    setSearch(next, { replace: false });
  };

  const triage = useTriageKeys(items, action, Boolean(draft || openId));

  const [exporting, setExporting] = useState(false);
  const exportCsv = () => {
    setExporting(true);
    api
      .exportInbox(apiFilters)
      .catch((e) => refused(fr.errors.refused, e))
      .finally(() => setExporting(false));
  };

  return (
    <section aria-labelledby="inbox-title">
      <div className="title-row">
        <h1 id="inbox-title">{fr.inbox.title}</h1>
        <div className="actions">
          <button type="button" onClick={() => setDraft({ heading: fr.create.title, draft: EMPTY_DRAFT })}>
            {fr.inbox.newFollowUp}
          </button>
          <button type="button" onClick={exportCsv} disabled={exporting}>
            {exporting ? fr.common.exporting : fr.common.exportCsv}
          </button>
          <button type="button" className="link" onClick={() => triage.setHelp((h) => !h)} aria-expanded={triage.help}>
            {fr.inbox.keyboardHelp}
          </button>
        </div>
      </div>
      {triage.help && <KeyboardHelp onClose={() => triage.setHelp(false)} />}
      <FilterBar
        filters={filters}
        setFilters={setFilters}
        onClear={() => setSearch({}, { replace: true })}
        users={users.data}
        teams={teams.data}
        searchRef={triage.searchRef}
      />
      <InboxStats stats={stats} />
      {message && (
        <p role={message.ok ? 'status' : 'alert'} className={message.ok ? 'ok' : 'error'}>
          {message.text} <button type="button" className="link" onClick={() => setMessage(null)}>{fr.common.close}</button>
        </p>
      )}
      {items.length > 0 && (
        <BulkBar
          selection={selection}
          pageIds={items.map((i) => i.id)}
          total={total}
          totalLabel={totalLabel}
          users={users.data}
          pending={bulk.isPending}
          run={runBulk}
        />
      )}
      {inbox.isError && <ErrorBox what={fr.inbox.loadFailed} error={inbox.error} onRetry={() => inbox.refetch()} />}
      {inbox.isPending && <p>{fr.common.loading}</p>}
      {inbox.isSuccess && items.length === 0 && <p className="empty">{fr.inbox.empty}</p>}
      <div className="cards" aria-live="polite" ref={triage.cardsRef}>
        {items.map((item, index) => (
          <InteractionCard
            key={item.id}
            item={item}
            act={(a) => action.mutate(a)}
            users={users.data}
            selected={selection.allMatching || selection.selected.has(item.id)}
            onSelect={(on) => selection.toggle(item.id, on)}
            current={index === triage.current}
            onOpen={() => open(item.id)}
            onDoneAndNext={() => doneAndNext(item)}
          />
        ))}
      </div>
      {inbox.hasNextPage && (
        <button type="button" onClick={() => inbox.fetchNextPage()} disabled={inbox.isFetchingNextPage}>
          {inbox.isFetchingNextPage ? fr.common.loading : fr.common.loadMore}
        </button>
      )}
      {draft && (
        <NewInteractionForm
          users={users.data ?? []}
          draft={draft.draft}
          heading={draft.heading}
          onClose={() => setDraft(null)}
          onCreated={(title) => {
            setDraft(null);
            setMessage({ ok: true, text: fr.create.created(title) });
          }}
        />
      )}
      {openId && <DetailPanel id={openId} onClose={() => open(null)} />}
    </section>
  );
}
