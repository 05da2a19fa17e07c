import { useEffect, useState } from 'react';
import { Link } from 'react-router';

import type { Interaction, Status, User } from '../api';
import { fromLocalInput, toLocalInput } from '../filters';
import { STATUS_LABEL, TYPE_LABEL, formatDate, slaCountdown, snooze, urgency } from '../format';
import { fr } from '../fr';
import type { QuickAction } from '../hooks';
import { AssigneeOptions } from './Choices';

export function UrgencyBadge({ at }: { at: string | null }) {
  const u = urgency(at);
  return u ? <span className={`badge urgency-${u.tone}`}>{u.label}</span> : null;
}

/** A hot lead's first-touch countdown, ticking each minute. */
export function SlaBadge({ item }: { item: Interaction }) {
  const [now, setNow] = useState(() => new Date());
  const counting = !!item.sla_due_at && !item.first_touched_at && item.status !== 'done';
  useEffect(() => {
    if (!counting) return undefined;
    const timer = window.setInterval(() => setNow(new Date()), 60_000);
    return () => window.clearInterval(timer);
  }, [counting]);
  const sla = slaCountdown(item, now);
  return sla ? (
    <span className={`badge urgency-${sla.tone}`} title={fr.sla.title} data-testid="sla">
      <span aria-hidden="true">⏱</span> {sla.label}
    </span>
  ) : null;
}

type Props = {
  item: Interaction;
  act: (action: QuickAction) => void;
  users?: User[];
  selected?: boolean;
  onSelect?: (selected: boolean) => void;
  current?: boolean;
  onOpen?: () => void;
  onDoneAndNext?: () => void;
};

export function InteractionCard({ item, act, users, selected, onSelect, current, onOpen, onDoneAndNext }: Props) {
  const type = TYPE_LABEL[item.type];
  const done = item.status === 'done';
  return (
    <article
      className={`card${current ? ' current' : ''}`}
      aria-label={item.title}
      data-testid={`interaction-${item.id}`}
      data-id={item.id}
      tabIndex={-1}
    >
      <header>
        {onSelect && (
          <input
            type="checkbox"
            aria-label={fr.card.select(item.title)}
            checked={!!selected}
            onChange={(e) => onSelect(e.target.checked)}
          />
        )}
        <span className="type" title={type.label}>
          <span aria-hidden="true">{type.icon}</span> {type.label}
        </span>
        <span className={`badge status-${item.status}`} data-testid="status">
          {STATUS_LABEL[item.status]}
        </span>
      </header>
      <h3>{item.title}</h3>
      <p className="meta">
        {fr.card.nextAction} <time dateTime={item.next_action_at ?? undefined}>{formatDate(item.next_action_at)}</time>{' '}
        <UrgencyBadge at={item.next_action_at} /> <SlaBadge item={item} />
      </p>
      <p className="meta">
        {!users && <span className="badge assignee">{item.assignee_name ?? fr.inbox.unassigned}</span>}
        {item.person_id && <Link to={`/people/${item.person_id}`}>{item.person_name ?? fr.common.person(item.person_id)}</Link>}
        {item.organisation_id && (
          <Link to={`/organisations/${item.organisation_id}`}>{item.organisation_name ?? `#${item.organisation_id}`}</Link>
        )}
      </p>
      <div className="actions" role="group" aria-label={fr.card.actions(item.title)}>
        {done ? (
          <button type="button" onClick={() => act({ id: item.id, kind: 'status', status: 'todo' })}>
            {fr.card.reopen}
          </button>
        ) : (
          <button type="button" onClick={() => act({ id: item.id, kind: 'status', status: 'done' })}>
            {fr.card.done}
          </button>
        )}
        {!done && onDoneAndNext && (
          <button type="button" onClick={onDoneAndNext}>
            {fr.card.doneAndNext}
          </button>
        )}
        {[
          { days: 1, label: fr.card.snooze1 },
          { days: 3, label: fr.card.snooze3 },
          { days: 7, label: fr.card.snooze7 },
        ].map(({ days, label }) => (
          <button
            type="button"
            key={days}
            onClick={() => act({ id: item.id, kind: 'next-action', nextActionAt: snooze(item.next_action_at, days) })}
          >
            {label}
          </button>
        ))}
        {onOpen && (
          <button type="button" onClick={onOpen}>
            {fr.card.open}
          </button>
        )}
      </div>
      {users && (
        <div className="edits">
          <div className="edit">
            <span aria-hidden="true">{fr.inbox.status}</span>
            <select
              aria-label={fr.card.statusLabel(item.title)}
              value={item.status}
              onChange={(e) => act({ id: item.id, kind: 'status', status: e.target.value as Status })}
            >
              {(Object.keys(STATUS_LABEL) as Status[]).map((s) => (
                <option key={s} value={s}>
                  {STATUS_LABEL[s]}
                </option>
              ))}
            </select>
          </div>
          <div className="edit">
            <span aria-hidden="true">{fr.inbox.assignee}</span>
            <select
              aria-label={fr.card.assigneeLabel(item.title)}
              data-role="assignee"
              value={item.assignee_id ?? ''}
              onChange={(e) => {
                const id = e.target.value ? Number(e.target.value) : null;
                act({ id: item.id, kind: 'assignee', assigneeId: id, assigneeName: users.find((u) => u.id === id)?.full_name ?? null });
              }}
            >
              <AssigneeOptions users={users} />
            </select>
          </div>
          <div className="edit">
            <span aria-hidden="true">{fr.create.date}</span>
            <input
              type="datetime-local"
              aria-label={fr.card.dateLabel(item.title)}
              // Keyed on the value so a change from elsewhere (snooze, live feed) shows.
              key={item.next_action_at ?? 'none'}
              defaultValue={toLocalInput(item.next_action_at)}
              onKeyDown={(e) => {
                if (e.key === 'Enter') e.currentTarget.blur();
              }}
              onBlur={(e) => {
                const at = fromLocalInput(e.target.value);
                if (at && at !== item.next_action_at) act({ id: item.id, kind: 'next-action', nextActionAt: at });
              }}
            />
          </div>
          {item.next_action_at && (
            <button type="button" className="link" onClick={() => act({ id: item.id, kind: 'next-action', nextActionAt: null })}>
              {fr.card.clearDate}
            </button>
          )}
        </div>
      )}
    </article>
  );
}
