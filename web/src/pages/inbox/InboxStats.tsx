import type { UseQueryResult } from '@tanstack/react-query';

import type { Stats } from '../../api';
import { ErrorBox } from '../../components/ErrorBox';
import { formatTotal } from '../../format';
import { fr } from '../../fr';

/** The stats cards over the same filters as the list (every status). */
export function InboxStats({ stats }: { stats: UseQueryResult<Stats> }) {
  if (stats.isError) {
    return <ErrorBox what={fr.inbox.statsFailed} error={stats.error} onRetry={() => stats.refetch()} />;
  }
  const data = stats.data;
  const figures: [string, string | number | undefined][] = [
    [fr.inbox.total, data && formatTotal(data.total, data.total_is_lower_bound)],
    [fr.status.todo, data?.todo],
    [fr.status.in_progress, data?.in_progress],
    [fr.status.done, data?.done],
  ];
  return (
    <dl className="stats" aria-label={fr.inbox.stats}>
      {figures.map(([label, value]) => (
        <div key={label} className="stat">
          <dt>{label}</dt>
          <dd>{value ?? '…'}</dd>
        </div>
      ))}
    </dl>
  );
}
