import { lazy, Suspense } from 'react';
import { Link } from 'react-router';

import { ErrorBox } from '../components/ErrorBox';
import { Heat } from '../components/Heat';
import { formatDate, reasonLabel } from '../format';
import { fr } from '../fr';
import { usePerson, usePersonScore, usePersonSends } from '../hooks';
import { FollowUps } from './FollowUps';
import { NotFound } from './NotFound';

// uPlot comes with the chart, only on this page.
const ScoreChart = lazy(() => import('../components/ScoreChart'));

function notFound(error: unknown): boolean {
  return !!error && typeof error === 'object' && 'status' in error && error.status === 404;
}

export function PersonPage({ id }: { id: number }) {
  const person = usePerson(id);
  const score = usePersonScore(id);
  const sends = usePersonSends(id);
  if (person.isError && notFound(person.error)) return <NotFound message={fr.person.notFound} />;
  const p = person.data;
  const name = p ? `${p.first_name} ${p.last_name}`.trim() || p.email || fr.common.person(id) : fr.common.loading;
  return (
    <section aria-labelledby="person-title">
      <h1 id="person-title">{name}</h1>
      {person.isError && <ErrorBox what={fr.errors.load} error={person.error} onRetry={() => person.refetch()} />}
      {p && (
        <section className="panel" aria-labelledby="identity-title">
          <h2 id="identity-title">{fr.person.identity}</h2>
          <dl className="facts">
            <div><dt>{fr.person.email}</dt><dd>{p.email ? <a href={`mailto:${p.email}`}>{p.email}</a> : '—'}</dd></div>
            <div><dt>{fr.person.phone}</dt><dd>{p.phone ?? '—'}</dd></div>
            <div>
              <dt>{fr.person.organisation}</dt>
              <dd>{p.organisation ? <Link to={`/organisations/${p.organisation.id}`}>{p.organisation.name}</Link> : '—'}</dd>
            </div>
            <div>
              <dt>{fr.person.owner}</dt>
              <dd>{p.owner ? <Link to={`/dashboard/inbox?assignee=${p.owner.id}`}>{p.owner.name}</Link> : '—'}</dd>
            </div>
            <div><dt>{fr.person.score}</dt><dd><Heat score={p.score} levels={p.heat} /></dd></div>
            {p.external_id && <div><dt>{fr.person.crmId}</dt><dd>{p.external_id}</dd></div>}
          </dl>
        </section>
      )}
      <section className="panel" aria-labelledby="chart-title">
        <h2 id="chart-title">{fr.person.chart}</h2>
        {score.isError && <ErrorBox what={fr.errors.load} error={score.error} onRetry={() => score.refetch()} />}
        {score.data && (
          <Suspense fallback={<p>{fr.common.loading}</p>}>
            <ScoreChart history={score.data.history} />
          </Suspense>
        )}
      </section>
      {score.data && score.data.history.length > 0 && (
        <section className="panel" aria-labelledby="history-title">
          <h2 id="history-title">{fr.person.history}</h2>
          <table>
            <thead>
              <tr><th scope="col">{fr.person.when}</th><th scope="col">{fr.person.reason}</th><th scope="col">{fr.person.delta}</th><th scope="col">{fr.person.after}</th></tr>
            </thead>
            <tbody>
              {[...score.data.history].reverse().map((c) => (
                <tr key={c.id}>
                  <td>{formatDate(c.occurred_at)}</td>
                  <td>{reasonLabel(c.reason)}</td>
                  <td>{c.delta > 0 ? `+${c.delta}` : c.delta}</td>
                  <td>{c.score_after}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
      <FollowUps by="person_id" id={id} />
      <section className="panel" aria-labelledby="sends-title">
        <h2 id="sends-title">{fr.person.sends}</h2>
        {sends.isError && <ErrorBox what={fr.errors.load} error={sends.error} onRetry={() => sends.refetch()} />}
        {sends.data && sends.data.items.length === 0 && <p className="empty">{fr.person.sendsEmpty}</p>}
        {sends.data && sends.data.items.length > 0 && (
          <table>
            <thead>
              <tr>
                <th scope="col">{fr.person.subject}</th><th scope="col">{fr.person.sentAt}</th><th scope="col">{fr.person.sendStatus}</th>
                <th scope="col">{fr.person.opens}</th><th scope="col">{fr.person.clicks}</th>
              </tr>
            </thead>
            <tbody>
              {sends.data.items.map((s) => (
                <tr key={s.id}>
                  <td>{s.subject ?? '—'}</td>
                  <td>{formatDate(s.sent_at)}</td>
                  <td>{fr.sendStatus[s.status] ?? s.status}</td>
                  <td>{s.open_count}</td>
                  <td>{s.click_count}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </section>
  );
}
