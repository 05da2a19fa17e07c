import { UrgencyBadge } from '../components/InteractionCard';
import { STATUS_LABEL, TYPE_LABEL, heat } from '../format';
import { useHotLeads, useInbox } from '../hooks';
import { navigate } from '../router';

function SeeAll({ to, label }: { to: string; label: string }) {
  return (
    <a href={to} onClick={(e) => { e.preventDefault(); navigate(to); }}>{label}</a>
  );
}

export function InboxWidget() {
  const inbox = useInbox({ assignee: '', status: '', due: 'all' }, 5);
  const items = inbox.data?.pages[0]?.items ?? [];
  return (
    <section className="widget" aria-labelledby="todo-title" data-testid="inbox-widget">
      <h2 id="todo-title">À traiter</h2>
      {inbox.isSuccess && items.length === 0 && <p className="empty">Aucune action en attente</p>}
      <ul>
        {items.map((item) => (
          <li key={item.id}>
            <span title={TYPE_LABEL[item.type].label}>{TYPE_LABEL[item.type].icon}</span> {item.title}{' '}
            <UrgencyBadge at={item.next_action_at} /> <span className={`badge status-${item.status}`}>{STATUS_LABEL[item.status]}</span>
          </li>
        ))}
      </ul>
      <SeeAll to="/dashboard/inbox" label="Voir tout" />
    </section>
  );
}

export function HotLeadsWidget() {
  const leads = useHotLeads(5);
  const items = leads.data?.items ?? [];
  return (
    <section className="widget" aria-labelledby="leads-title" data-testid="hot-leads-widget">
      <h2 id="leads-title">Leads chauds</h2>
      {leads.isSuccess && items.length === 0 && <p className="empty">Aucun lead chaud pour le moment</p>}
      <ul>
        {items.map((lead) => {
          const h = heat(lead.score, leads.data!.heat);
          return (
            <li key={lead.person_id}>
              <span aria-label={h.label} title={h.label}>{h.flames}</span> {lead.person_name ?? `Personne #${lead.person_id}`}{' '}
              <span className="muted">{lead.person_email}</span> <span className="badge">{lead.score} · {h.label}</span>
            </li>
          );
        })}
      </ul>
      <SeeAll to="/dashboard/inbox" label={`Voir tout (${leads.data?.total ?? 0})`} />
    </section>
  );
}

export function Dashboard() {
  return (
    <section aria-labelledby="dashboard-title">
      <h1 id="dashboard-title">Tableau de bord</h1>
      <div className="widgets">
        <InboxWidget />
        <HotLeadsWidget />
      </div>
    </section>
  );
}
