import { useState } from 'react';

import type { BulkSet, User } from '../../api';
import { snooze } from '../../format';
import { fr } from '../../fr';
import type { Selection } from './useSelection';

/** The bulk bar: select the page, then every row of the filter; mark done, snooze, assign. */
export function BulkBar({ selection, pageIds, total, totalLabel, users, pending, run }: {
  selection: Selection;
  pageIds: number[];
  total: number;
  totalLabel: string;
  users: User[] | undefined;
  pending: boolean;
  run: (set: BulkSet) => void;
}) {
  const [assignee, setAssignee] = useState('');
  const { selected, allMatching, setAllMatching } = selection;
  const count = allMatching ? total : selected.size;
  const pageAllSelected = pageIds.length > 0 && pageIds.every((id) => selected.has(id));
  return (
    <div className="bulk" role="group" aria-label={fr.inbox.selected(count)}>
      <label>
        <input type="checkbox" checked={pageAllSelected} onChange={(e) => selection.selectPage(pageIds, e.target.checked)} />{' '}
        {fr.inbox.selectAll}
      </label>
      {count > 0 && (
        <>
          <span data-testid="selection-count">
            {allMatching ? fr.inbox.allMatching(totalLabel) : fr.inbox.selected(selected.size)}
          </span>
          {!allMatching && pageAllSelected && total > selected.size && (
            <button type="button" className="link" onClick={() => setAllMatching(true)}>
              {fr.inbox.selectMatching(totalLabel)}
            </button>
          )}
          <button type="button" disabled={pending} onClick={() => run({ status: 'done' })}>{fr.inbox.bulkDone}</button>
          <button type="button" disabled={pending} onClick={() => run({ next_action_at: snooze(null, 1) })}>{fr.inbox.bulkSnooze}</button>
          <label>
            {fr.inbox.bulkAssign}
            <select value={assignee} onChange={(e) => setAssignee(e.target.value)}>
              <option value="">{fr.inbox.unassigned}</option>
              {(users ?? []).map((u) => <option key={u.id} value={u.id}>{u.full_name}</option>)}
            </select>
          </label>
          <button type="button" disabled={pending} onClick={() => run({ assignee_id: assignee ? Number(assignee) : null })}>
            {fr.inbox.bulkAssignApply}
          </button>
          <button type="button" className="link" onClick={selection.clear}>
            {fr.inbox.clearSelection}
          </button>
        </>
      )}
    </div>
  );
}
