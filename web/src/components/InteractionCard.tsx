import type { Interaction } from '../api';
import { STATUS_LABEL, TYPE_LABEL, formatDate, snooze, urgency } from '../format';
import type { QuickAction } from '../hooks';

export function UrgencyBadge({ at }: { at: string | null }) {
  const u = urgency(at);
  return u ? <span className={`badge urgency-${u.tone}`}>{u.label}</span> : null;
}

export function InteractionCard({ item, act }: { item: Interaction; act: (action: QuickAction) => void }) {
  const type = TYPE_LABEL[item.type];
  const done = item.status === 'done';
  return (
    <article className="card" aria-label={item.title} data-testid={`interaction-${item.id}`}>
      <header>
        <span className="type" aria-label={type.label} title={type.label}>{type.icon} {type.label}</span>
        <span className={`badge status-${item.status}`} data-testid="status">{STATUS_LABEL[item.status]}</span>
      </header>
      <h3>{item.title}</h3>
      <p className="meta">
        Prochaine action : <time dateTime={item.next_action_at ?? undefined}>{formatDate(item.next_action_at)}</time>{' '}
        <UrgencyBadge at={item.next_action_at} />
      </p>
      <p className="meta">
        <span className="badge assignee">{item.assignee_name ?? 'Non assigné'}</span>
        {item.organisation_id && <a href={`/organisations/${item.organisation_id}`}>Org #{item.organisation_id}</a>}
        {item.person_id && <a href={`/people/${item.person_id}`}>Person #{item.person_id}</a>}
      </p>
      <div className="actions" role="group" aria-label={`Actions pour ${item.title}`}>
        <button type="button" disabled={done} onClick={() => act({ id: item.id, kind: 'status', status: 'done' })}>
          Marquer terminé
        </button>
        {[
          { days: 1, label: 'Reporter +1 jour' },
          { days: 3, label: '+3 jours' },
          { days: 7, label: '+1 semaine' },
        ].map(({ days, label }) => (
          <button
            type="button"
            key={days}
            onClick={() => act({ id: item.id, kind: 'next-action', nextActionAt: snooze(item.next_action_at, days) })}
          >
            {label}
          </button>
        ))}
      </div>
    </article>
  );
}
