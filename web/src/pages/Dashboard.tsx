import { Link } from 'react-router';

import { ErrorBox } from '../components/ErrorBox';
import { Heat } from '../components/Heat';
import { UrgencyBadge } from '../components/InteractionCard';
import { STATUS_LABEL, TYPE_LABEL } from '../format';
import { fr } from '../fr';
import { useHotLeads, useInbox } from '../hooks';

/** The signed-in user's own next actions; a row opens the item in the inbox. */
export function InboxWidget() {
  const inbox = useInbox({ assignee: 'me', status: '', due: 'all' }, 5);
  const items = inbox.data?.pages[0]?.items ?? [];
  return (
    <section className="widget" aria-labelledby="todo-title" data-testid="inbox-widget">
      <h2 id="todo-title">{fr.dashboard.todo}</h2>
      {inbox.isError && <ErrorBox what={fr.errors.load} error={inbox.error} onRetry={() => inbox.refetch()} />}
      {inbox.isSuccess && items.length === 0 && <p className="empty">{fr.dashboard.todoEmpty}</p>}
      <ul>
        {items.map((item) => (
          <li key={item.id}>
            <span title={TYPE_LABEL[item.type].label} aria-hidden="true">{TYPE_LABEL[item.type].icon}</span>{' '}
            <Link to={`/dashboard/inbox?assignee=me&interaction=${item.id}`}>{item.title}</Link>{' '}
            <UrgencyBadge at={item.next_action_at} /> <span className={`badge status-${item.status}`}>{STATUS_LABEL[item.status]}</span>
          </li>
        ))}
      </ul>
      <Link to="/dashboard/inbox?assignee=me">{fr.dashboard.seeAll}</Link>
    </section>
  );
}

export function HotLeadsWidget() {
  const leads = useHotLeads(5);
  const items = leads.data?.items ?? [];
  return (
    <section className="widget" aria-labelledby="leads-title" data-testid="hot-leads-widget">
      <h2 id="leads-title">{fr.dashboard.leads}</h2>
      {leads.isError && <ErrorBox what={fr.errors.load} error={leads.error} onRetry={() => leads.refetch()} />}
      {leads.isSuccess && items.length === 0 && <p className="empty">{fr.dashboard.leadsEmpty}</p>}
      <ul>
        {leads.data &&
          items.map((lead) => (
            <li key={lead.person_id}>
              <Link to={`/people/${lead.person_id}`}>{lead.person_name ?? fr.common.person(lead.person_id)}</Link>{' '}
              <span className="muted">{lead.person_email}</span> <Heat score={lead.score} levels={leads.data.heat} />
            </li>
          ))}
      </ul>
      <Link to="/leads">{fr.dashboard.seeAllLeads(leads.data?.total ?? 0)}</Link>
    </section>
  );
}

export function Dashboard() {
  return (
    <section aria-labelledby="dashboard-title">
      <h1 id="dashboard-title">{fr.dashboard.title}</h1>
      <div className="widgets">
        <InboxWidget />
        <HotLeadsWidget />
      </div>
    </section>
  );
}
