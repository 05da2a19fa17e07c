import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useSearchParams } from 'react-router';

import { api, bulkFilter, type BulkSet, type BulkTarget, type Filters, type Interaction } from '../api';
import { DetailPanel } from '../components/DetailPanel';
import { ErrorBox } from '../components/ErrorBox';
import { InteractionCard } from '../components/InteractionCard';
import { NewInteractionForm, type Draft } from '../components/NewInteractionForm';
import { readFilters, toApi, writeFilters } from '../filters';
import { formatTotal, snooze, TYPE_LABEL } from '../format';
import { fr } from '../fr';
import { useBulk, useDebounced, useInbox, useInboxStats, useOrganisation, usePerson, useQuickAction, useUsers } from '../hooks';
import { triageKey } from '../keys';

type Option = { value: string; label: string };

function Select({ label, name, value, options, onChange }: {
  label: string; name: string; value: string; options: Option[]; onChange: (v: string) => void;
}) {
  return (
    <label>
      {label}
      <select name={name} aria-label={label} value={value} onChange={(e) => onChange(e.target.value)}>
        {options.map((o) => <option key={o.value} value={o.value}>{o.label}</option>)}
      </select>
    </label>
  );
}

const STATUS: Option[] = [
  { value: '', label: fr.inbox.open },
  { value: 'todo', label: fr.status.todo },
  { value: 'in_progress', label: fr.status.in_progress },
  { value: 'done', label: fr.status.done },
];
const DUE: Option[] = [
  { value: 'overdue', label: fr.inbox.dueOverdue },
  { value: 'today', label: fr.inbox.dueToday },
  { value: 'week', label: fr.inbox.dueWeek },
  { value: 'all', label: fr.inbox.dueAll },
];
const TYPES: Option[] = [
  { value: '', label: fr.inbox.anyType },
  ...(['call', 'email', 'meeting', 'note'] as const).map((t) => ({ value: t, label: TYPE_LABEL[t].label })),
];

/** A removable chip for the person or organisation filter, with the name it stands for. */
function EntityChip({ kind, id, onRemove }: { kind: 'person' | 'organisation'; id: number; onRemove: () => void }) {
  const person = usePerson(kind === 'person' ? id : 0);
  const org = useOrganisation(kind === 'organisation' ? id : 0);
  const name = kind === 'person'
    ? (person.data ? `${person.data.first_name} ${person.data.last_name}`.trim() : fr.common.person(id))
    : (org.data?.name ?? `#${id}`);
  const label = kind === 'person' ? fr.inbox.personFilter(name) : fr.inbox.organisationFilter(name);
  return (
    <span className="chip">
      {label}{' '}
      <button type="button" className="link" aria-label={fr.inbox.removeFilter(label)} onClick={onRemove}>×</button>
    </span>
  );
}

function KeyboardHelp({ onClose }: { onClose: () => void }) {
  const rows: [string, string][] = [
    ['j / k', fr.keys.move],
    ['e', fr.keys.done],
    ['1 / 3 / 7', fr.keys.snooze],
    ['a', fr.keys.assign],
    ['/', fr.keys.search],
    ['?', fr.keys.help],
  ];
  return (
    <aside className="help" aria-label={fr.keys.title}>
      <h2>{fr.keys.title}</h2>
      <dl>
        {rows.map(([k, what]) => (
          <div key={k}><dt><kbd>{k}</kbd></dt><dd>{what}</dd></div>
        ))}
      </dl>
      <button type="button" onClick={onClose}>{fr.common.close}</button>
    </aside>
  );
}

export function Inbox() {
  const [search, setSearch] = useSearchParams();
  const filters = useMemo(() => readFilters(search), [search]);
  const apiFilters = useMemo(() => toApi(filters), [filters]);
  const setFilters = useCallback(
    (next: Filters) => setSearch(writeFilters(next, search), { replace: true }),
    [search, setSearch],
  );
  const setFilter = (key: keyof Filters, value: string) => setFilters({ ...filters, [key]: value });

  // The search box: the URL follows the typing, debounced.
  const [text, setText] = useState(filters.q ?? '');
  const typed = useDebounced(text, 300);
  useEffect(() => {
    if ((typed.trim() || '') !== (filters.q ?? '')) setFilters({ ...filters, q: typed.trim() });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [typed]);

  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const users = useUsers();
  const inbox = useInbox(apiFilters);
  const stats = useInboxStats(apiFilters);
  const action = useQuickAction((text) => setMessage({ ok: false, text }));
  const bulk = useBulk();
  const items = useMemo(() => inbox.data?.pages.flatMap((p) => p.items) ?? [], [inbox.data]);
  const total = inbox.data?.pages[0]?.total ?? 0;
  const totalLabel = formatTotal(total, inbox.data?.pages[0]?.total_is_lower_bound);

  // Selection: ids on screen, or every row matching the filter.
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [allMatching, setAllMatching] = useState(false);
  const [bulkAssignee, setBulkAssignee] = useState('');
  useEffect(() => {
    setSelected(new Set());
    setAllMatching(false);
  }, [search]);
  const toggle = (id: number, on: boolean) => {
    setAllMatching(false);
    setSelected((s) => {
      const next = new Set(s);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });
  };
  const runBulk = (set: BulkSet) => {
    const target: BulkTarget = allMatching ? { filter: bulkFilter(apiFilters) } : { ids: [...selected] };
    bulk.mutate(
      { target, set },
      {
        onSuccess: (r) => {
          setMessage({ ok: true, text: fr.inbox.bulkResult(r.matched, r.changed) });
          setSelected(new Set());
          setAllMatching(false);
        },
        onError: (e) => setMessage({ ok: false, text: `${fr.inbox.bulkRefused} : ${e instanceof Error ? e.message : String(e)}` }),
      },
    );
  };

  // New follow-up, and "done, plan the next one".
  const [draft, setDraft] = useState<{ heading: string; draft: Draft } | null>(null);
  const doneAndNext = (item: Interaction) => {
    action.mutate({ id: item.id, kind: 'status', status: 'done' });
    setDraft({
      heading: fr.create.nextTitle,
      draft: {
        type: item.type,
        title: item.title,
        person: item.person_id
          ? { id: item.person_id, name: item.person_name ?? fr.common.person(item.person_id), organisationId: item.organisation_id }
          : null,
        assigneeId: item.assignee_id,
        nextActionAt: snooze(null, 7),
      },
    });
  };

  // The detail panel follows `?interaction=`, so an email's link opens it.
  const openId = Number(search.get('interaction')) || null;
  const open = (id: number | null) => {
    const next = new URLSearchParams(search);
    if (id) next.set('interaction', String(id));
    else next.delete('interaction');
    setSearch(next, { replace: false });
  };

  // Keyboard triage.
  const [current, setCurrent] = useState(0);
  const [help, setHelp] = useState(false);
  const searchRef = useRef<HTMLInputElement>(null);
  const cardsRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (draft || openId) return;
      const key = triageKey(event);
      if (!key) return;
      const item = items[current];
      const focusCard = (index: number) =>
        cardsRef.current?.querySelectorAll<HTMLElement>('article.card')[index]?.focus();
      switch (key.kind) {
        case 'move': {
          const next = Math.max(0, Math.min(items.length - 1, current + key.by));
          setCurrent(next);
          focusCard(next);
          break;
        }
        case 'done':
          if (item && item.status !== 'done') action.mutate({ id: item.id, kind: 'status', status: 'done' });
          break;
        case 'snooze':
          if (item) action.mutate({ id: item.id, kind: 'next-action', nextActionAt: snooze(item.next_action_at, key.days) });
          break;
        case 'assign':
          cardsRef.current?.querySelectorAll<HTMLElement>('article.card')[current]?.querySelector<HTMLSelectElement>('select[data-role="assignee"]')?.focus();
          break;
        case 'search':
          searchRef.current?.focus();
          break;
        case 'help':
          setHelp((h) => !h);
          break;
      }
      event.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [items, current, action, draft, openId]);
  useEffect(() => {
    if (current >= items.length && items.length > 0) setCurrent(items.length - 1);
  }, [items.length, current]);

  const [exporting, setExporting] = useState(false);
  const exportCsv = () => {
    setExporting(true);
    api
      .exportInbox(apiFilters)
      .catch((e) => setMessage({ ok: false, text: `${fr.errors.refused} : ${e instanceof Error ? e.message : String(e)}` }))
      .finally(() => setExporting(false));
  };

  const assigneeOptions: Option[] = [
    { value: '', label: fr.inbox.everyone },
    { value: 'me', label: fr.inbox.me },
    { value: 'unassigned', label: fr.inbox.unassigned },
    ...(users.data ?? []).map((u) => ({ value: String(u.id), label: u.full_name })),
  ];
  // A colleague's id the list does not know (yet, or any more) still shows as a choice.
  if (filters.assignee && !assigneeOptions.some((o) => o.value === filters.assignee)) {
    assigneeOptions.push({ value: filters.assignee, label: `#${filters.assignee}` });
  }
  const selectionCount = allMatching ? total : selected.size;
  const pageIds = items.map((i) => i.id);
  const pageAllSelected = pageIds.length > 0 && pageIds.every((id) => selected.has(id));

  return (
    <section aria-labelledby="inbox-title">
      <div className="title-row">
        <h1 id="inbox-title">{fr.inbox.title}</h1>
        <div className="actions">
          <button
            type="button"
            onClick={() => setDraft({ heading: fr.create.title, draft: { type: 'call', title: '', person: null, assigneeId: null, nextActionAt: null } })}
          >
            {fr.inbox.newFollowUp}
          </button>
          <button type="button" onClick={exportCsv} disabled={exporting}>
            {exporting ? fr.common.exporting : fr.common.exportCsv}
          </button>
          <button type="button" className="link" onClick={() => setHelp((h) => !h)} aria-expanded={help}>
            {fr.inbox.keyboardHelp}
          </button>
        </div>
      </div>
      {help && <KeyboardHelp onClose={() => setHelp(false)} />}
      <form className="filters" aria-label={fr.inbox.filters} onSubmit={(e) => e.preventDefault()} role="search">
        <label className="grow">
          {fr.inbox.search}
          <input
            ref={searchRef}
            type="search"
            name="q"
            value={text}
            maxLength={200}
            placeholder={fr.inbox.searchPlaceholder}
            onChange={(e) => setText(e.target.value)}
          />
        </label>
        <Select label={fr.inbox.assignee} name="assignee" value={filters.assignee} options={assigneeOptions} onChange={(v) => setFilter('assignee', v)} />
        <Select label={fr.inbox.status} name="status" value={filters.status} options={STATUS} onChange={(v) => setFilter('status', v)} />
        <Select label={fr.inbox.due} name="due" value={filters.due} options={DUE} onChange={(v) => setFilter('due', v)} />
        <Select label={fr.inbox.type} name="type" value={TYPES.some((t) => t.value === filters.type) ? filters.type ?? '' : ''} options={TYPES} onChange={(v) => setFilter('type', v)} />
        <label>
          {fr.inbox.from}
          <input type="date" name="from" value={filters.from} onChange={(e) => setFilter('from', e.target.value)} />
        </label>
        <label>
          {fr.inbox.to}
          <input type="date" name="to" value={filters.to} onChange={(e) => setFilter('to', e.target.value)} />
        </label>
      </form>
      <p className="chips">
        {filters.person_id && <EntityChip kind="person" id={Number(filters.person_id)} onRemove={() => setFilter('person_id', '')} />}
        {filters.organisation_id && (
          <EntityChip kind="organisation" id={Number(filters.organisation_id)} onRemove={() => setFilter('organisation_id', '')} />
        )}
        {writeFilters(filters) !== '' && (
          <button type="button" className="link" onClick={() => { setText(''); setSearch({}, { replace: true }); }}>
            {fr.inbox.clearFilters}
          </button>
        )}
      </p>
      {stats.isError ? (
        <ErrorBox what={fr.inbox.statsFailed} error={stats.error} onRetry={() => stats.refetch()} />
      ) : (
        <dl className="stats" aria-label={fr.inbox.stats}>
          {[
            [fr.inbox.total, stats.data && formatTotal(stats.data.total, stats.data.total_is_lower_bound)],
            [fr.status.todo, stats.data?.todo],
            [fr.status.in_progress, stats.data?.in_progress],
            [fr.status.done, stats.data?.done],
          ].map(([label, value]) => (
            <div key={label as string} className="stat">
              <dt>{label}</dt>
              <dd>{value ?? '…'}</dd>
            </div>
          ))}
        </dl>
      )}
      {message && (
        <p role={message.ok ? 'status' : 'alert'} className={message.ok ? 'ok' : 'error'}>
          {message.text} <button type="button" className="link" onClick={() => setMessage(null)}>{fr.common.close}</button>
        </p>
      )}
      {items.length > 0 && (
        <div className="bulk" role="group" aria-label={fr.inbox.selected(selectionCount)}>
          <label>
            <input
              type="checkbox"
              checked={pageAllSelected}
              onChange={(e) => {
                setAllMatching(false);
                setSelected(e.target.checked ? new Set(pageIds) : new Set());
              }}
            />{' '}
            {fr.inbox.selectAll}
          </label>
          {selectionCount > 0 && (
            <>
              <span data-testid="selection-count">
                {allMatching ? fr.inbox.allMatching(totalLabel) : fr.inbox.selected(selected.size)}
              </span>
              {!allMatching && pageAllSelected && total > selected.size && (
                <button type="button" className="link" onClick={() => setAllMatching(true)}>
                  {fr.inbox.selectMatching(totalLabel)}
                </button>
              )}
              <button type="button" disabled={bulk.isPending} onClick={() => runBulk({ status: 'done' })}>{fr.inbox.bulkDone}</button>
              <button type="button" disabled={bulk.isPending} onClick={() => runBulk({ next_action_at: snooze(null, 1) })}>{fr.inbox.bulkSnooze}</button>
              <label>
                {fr.inbox.bulkAssign}
                <select value={bulkAssignee} onChange={(e) => setBulkAssignee(e.target.value)}>
                  <option value="">{fr.inbox.unassigned}</option>
                  {(users.data ?? []).map((u) => <option key={u.id} value={u.id}>{u.full_name}</option>)}
                </select>
              </label>
              <button type="button" disabled={bulk.isPending} onClick={() => runBulk({ assignee_id: bulkAssignee ? Number(bulkAssignee) : null })}>
                {fr.inbox.bulkAssignApply}
              </button>
              <button type="button" className="link" onClick={() => { setSelected(new Set()); setAllMatching(false); }}>
                {fr.inbox.clearSelection}
              </button>
            </>
          )}
        </div>
      )}
      {inbox.isError && <ErrorBox what={fr.inbox.loadFailed} error={inbox.error} onRetry={() => inbox.refetch()} />}
      {inbox.isPending && <p>{fr.common.loading}</p>}
      {inbox.isSuccess && items.length === 0 && <p className="empty">{fr.inbox.empty}</p>}
      <div className="cards" aria-live="polite" ref={cardsRef}>
        {items.map((item, index) => (
          <InteractionCard
            key={item.id}
            item={item}
            act={(a) => action.mutate(a)}
            users={users.data}
            selected={allMatching || selected.has(item.id)}
            onSelect={(on) => toggle(item.id, on)}
            current={index === current}
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
