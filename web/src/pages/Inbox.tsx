import { useState } from 'react';

import type { Filters } from '../api';
import { InteractionCard } from '../components/InteractionCard';
import { useInbox, useInboxStats, useQuickAction } from '../hooks';
import { navigate, useLocation } from '../router';

const ASSIGNEE = [
  { value: '', label: 'Tous' },
  { value: 'me', label: 'Moi' },
  { value: 'unassigned', label: 'Non assigné' },
];
const STATUS = [
  { value: '', label: 'Non terminé' },
  { value: 'todo', label: 'À faire' },
  { value: 'in_progress', label: 'En cours' },
  { value: 'done', label: 'Terminé' },
];
const DUE = [
  { value: 'overdue', label: 'En retard' },
  { value: 'today', label: "Aujourd'hui" },
  { value: 'week', label: 'Cette semaine' },
  { value: 'all', label: 'Toutes' },
];

function Select({ label, name, value, options, onChange }: {
  label: string; name: string; value: string; options: { value: string; label: string }[]; onChange: (v: string) => void;
}) {
  return (
    <label>
      {label}
      <select name={name} value={value} onChange={(e) => onChange(e.target.value)}>
        {options.map((o) => <option key={o.value} value={o.value}>{o.label}</option>)}
      </select>
    </label>
  );
}

export function Inbox() {
  const { search } = useLocation();
  const filters: Filters = {
    assignee: search.get('assignee') ?? '',
    status: search.get('status') ?? '',
    due: search.get('due') ?? 'all',
  };
  const setFilter = (key: keyof Filters, value: string) => {
    const next = new URLSearchParams(search);
    if (value) next.set(key, value);
    else next.delete(key);
    navigate(`/dashboard/inbox?${next.toString()}`, true);
  };
  const [message, setMessage] = useState<string | null>(null);
  const inbox = useInbox(filters);
  const stats = useInboxStats(filters);
  const action = useQuickAction(setMessage);
  const items = inbox.data?.pages.flatMap((p) => p.items) ?? [];

  return (
    <section aria-labelledby="inbox-title">
      <h1 id="inbox-title">Boîte de réception</h1>
      <form className="filters" aria-label="Filtres" onSubmit={(e) => e.preventDefault()}>
        <Select label="Assigné" name="assignee" value={filters.assignee} options={ASSIGNEE} onChange={(v) => setFilter('assignee', v)} />
        <Select label="Statut" name="status" value={filters.status} options={STATUS} onChange={(v) => setFilter('status', v)} />
        <Select label="Échéance" name="due" value={filters.due} options={DUE} onChange={(v) => setFilter('due', v)} />
      </form>
      <dl className="stats" aria-label="Statistiques">
        {[
          ['Total', stats.data?.total],
          ['À faire', stats.data?.todo],
          ['En cours', stats.data?.in_progress],
          ['Terminé', stats.data?.done],
        ].map(([label, value]) => (
          <div key={label as string} className="stat">
            <dt>{label}</dt>
            <dd>{value ?? '…'}</dd>
          </div>
        ))}
      </dl>
      {message && (
        <p role="alert" className="error">
          {message} <button type="button" className="link" onClick={() => setMessage(null)}>Fermer</button>
        </p>
      )}
      {inbox.isError && <p role="alert" className="error">Impossible de charger la boîte : {String(inbox.error)}</p>}
      {inbox.isSuccess && items.length === 0 && <p className="empty">Aucune action en attente</p>}
      <div className="cards" aria-live="polite">
        {items.map((item) => <InteractionCard key={item.id} item={item} act={(a) => action.mutate(a)} />)}
      </div>
      {inbox.hasNextPage && (
        <button type="button" onClick={() => inbox.fetchNextPage()} disabled={inbox.isFetchingNextPage}>
          {inbox.isFetchingNextPage ? 'Chargement…' : 'Charger plus'}
        </button>
      )}
    </section>
  );
}
