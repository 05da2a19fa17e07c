import { Link } from 'react-router';

import type { Filters } from '../api';
import { ErrorBox } from '../components/ErrorBox';
import { InteractionCard } from '../components/InteractionCard';
import { fr } from '../fr';
import { useInbox, useQuickAction, useUsers } from '../hooks';
import { useState } from 'react';

/** The inbox filtered on one person or organisation, with the usual one-click actions. */
export function FollowUps({ by, id }: { by: 'person_id' | 'organisation_id'; id: number }) {
  const filters: Filters = { assignee: '', status: '', due: 'all', [by]: String(id) };
  const inbox = useInbox(filters, 10);
  const users = useUsers();
  const [message, setMessage] = useState<string | null>(null);
  const action = useQuickAction(setMessage);
  const items = inbox.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <section aria-labelledby={`followups-${by}`} className="panel">
      <h2 id={`followups-${by}`}>
        {fr.person.followUps} {inbox.data && <span className="muted">({inbox.data.pages[0]?.total ?? 0})</span>}
      </h2>
      {message && <p role="alert" className="error">{message}</p>}
      {inbox.isError && <ErrorBox what={fr.errors.load} error={inbox.error} onRetry={() => inbox.refetch()} />}
      {inbox.isSuccess && items.length === 0 && <p className="empty">{fr.person.followUpsEmpty}</p>}
      <div className="cards">
        {items.map((item) => (
          <InteractionCard key={item.id} item={item} act={(a) => action.mutate(a)} users={users.data} />
        ))}
      </div>
      <Link to={`/dashboard/inbox?${by}=${id}`}>{fr.person.seeInInbox}</Link>
    </section>
  );
}
