import { useEffect, useState } from 'react';
import { Link, useSearchParams } from 'react-router';

import { api } from '../api';
import { ErrorBox } from '../components/ErrorBox';
import { Heat } from '../components/Heat';
import { formatDate } from '../format';
import { fr } from '../fr';
import { useDebounced, useHotLeads } from '../hooks';

/** `?threshold=` as a non-negative integer; anything else: the server's default. */
export function readThreshold(raw: string | null): number | undefined {
  if (raw === null || !/^\d{1,9}$/.test(raw)) return undefined;
  return Number(raw);
}

export function LeadsPage() {
  const [search, setSearch] = useSearchParams();
  const threshold = readThreshold(search.get('threshold'));
  const leads = useHotLeads(100, threshold);
  const [text, setText] = useState(threshold === undefined ? '' : String(threshold));
  const typed = useDebounced(text, 300);
  useEffect(() => {
    if (typed === '' && leads.data && threshold === undefined) return;
    const value = readThreshold(typed);
    if (value !== threshold) setSearch(value === undefined ? {} : { threshold: String(value) }, { replace: true });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [typed]);
  useEffect(() => {
    if (text === '' && leads.data) setText(String(leads.data.threshold));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [leads.data]);
  const [error, setError] = useState<string | null>(null);
  const data = leads.data;
  return (
    <section aria-labelledby="leads-page-title">
      <div className="title-row">
        <h1 id="leads-page-title">{fr.leads.title}</h1>
        <button
          type="button"
          disabled={!data}
          onClick={() => data && api.exportLeads(data.threshold).catch((e) => setError(String(e instanceof Error ? e.message : e)))}
        >
          {fr.common.exportCsv}
        </button>
      </div>
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          {fr.leads.threshold}
          <input type="number" min={0} name="threshold" value={text} onChange={(e) => setText(e.target.value)} />
        </label>
      </form>
      {error && <p role="alert" className="error">{error}</p>}
      {leads.isError && <ErrorBox what={fr.errors.load} error={leads.error} onRetry={() => leads.refetch()} />}
      {data && <p className="muted" data-testid="leads-count">{fr.leads.count(data.items.length, data.total)}</p>}
      {data && data.items.length === 0 && <p className="empty">{fr.leads.empty}</p>}
      {data && data.items.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">{fr.leads.person}</th><th scope="col">{fr.leads.email}</th>
              <th scope="col">{fr.leads.score}</th><th scope="col">{fr.leads.lastActivity}</th>
            </tr>
          </thead>
          <tbody>
            {data.items.map((lead) => (
              <tr key={lead.person_id}>
                <td><Link to={`/people/${lead.person_id}`}>{lead.person_name ?? fr.common.person(lead.person_id)}</Link></td>
                <td>{lead.person_email ?? '—'}</td>
                <td><Heat score={lead.score} levels={data.heat} /></td>
                <td>{formatDate(lead.last_event_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
