import { Link } from 'react-router';

import { ErrorBox } from '../components/ErrorBox';
import { Heat } from '../components/Heat';
import { fr } from '../fr';
import { useOrganisation } from '../hooks';
import { FollowUps } from './FollowUps';
import { NotFound } from './NotFound';

export function OrganisationPage({ id }: { id: number }) {
  const org = useOrganisation(id);
  if (org.isError && 'status' in org.error && org.error.status === 404) return <NotFound message={fr.organisation.notFound} />;
  const o = org.data;
  return (
    <section aria-labelledby="org-title">
      <h1 id="org-title">{o?.name ?? fr.common.loading}</h1>
      {org.isError && <ErrorBox what={fr.errors.load} error={org.error} onRetry={() => org.refetch()} />}
      {o && (
        <section className="panel" aria-labelledby="org-people">
          <h2 id="org-people">{fr.organisation.people} <span className="muted">({o.people_total})</span></h2>
          {o.people.length === 0 ? (
            <p className="empty">{fr.organisation.peopleEmpty}</p>
          ) : (
            <table>
              <thead>
                <tr><th scope="col">{fr.organisation.name}</th><th scope="col">{fr.person.email}</th><th scope="col">{fr.organisation.score}</th></tr>
              </thead>
              <tbody>
                {o.people.map((p) => (
                  <tr key={p.id}>
                    <td><Link to={`/people/${p.id}`}>{p.name ?? p.email ?? fr.common.person(p.id)}</Link></td>
                    <td>{p.email ?? '—'}</td>
                    <td><Heat score={p.score} levels={o.heat} /></td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {o.people_total > o.people.length && <p className="muted">{fr.organisation.more(o.people.length, o.people_total)}</p>}
        </section>
      )}
      <FollowUps by="organisation_id" id={id} />
    </section>
  );
}
