import { useEffect, useState, type RefObject } from 'react';

import type { Filters, Team, User } from '../../api';
import { writeFilters } from '../../filters';
import { TYPE_LABEL } from '../../format';
import { fr } from '../../fr';
import { useDebounced, useOrganisation, usePerson } from '../../hooks';

type Option = { value: string; label: string };

function Select({ label, name, value, options, onChange }: {
  label: string; name: string; value: string; options: Option[]; onChange: (v: string) => void;
}) {
  return (
    <label>
      {label}
      <select name={name} aria-label={label} value={value} onChange={(e) => onChange(e.target.value)}>
        {options.map((o) => <option key={o.value} value={o.value}>{o.label}</option>)}
      </select>
    </label>
  );
}

const STATUS: Option[] = [
  { value: '', label: fr.inbox.open },
  { value: 'todo', label: fr.status.todo },
  { value: 'in_progress', label: fr.status.in_progress },
  { value: 'done', label: fr.status.done },
];
const DUE: Option[] = [
  { value: 'overdue', label: fr.inbox.dueOverdue },
  { value: 'today', label: fr.inbox.dueToday },
  { value: 'week', label: fr.inbox.dueWeek },
  { value: 'all', label: fr.inbox.dueAll },
];
const TYPES: Option[] = [
  { value: '', label: fr.inbox.anyType },
  ...(['call', 'email', 'meeting', 'note'] as const).map((t) => ({ value: t, label: TYPE_LABEL[t].label })),
];

/** A removable chip for the person or organisation filter, with the name it stands for. */
function EntityChip({ kind, id, onRemove }: { kind: 'person' | 'organisation'; id: number; onRemove: () => void }) {
  const person = usePerson(kind === 'person' ? id : 0);
  const org = useOrganisation(kind === 'organisation' ? id : 0);
  const name = kind === 'person'
    ? (person.data ? `${person.data.first_name} ${person.data.last_name}`.trim() : fr.common.person(id))
    : (org.data?.name ?? `#${id}`);
  const label = kind === 'person' ? fr.inbox.personFilter(name) : fr.inbox.organisationFilter(name);
  return (
    <span className="chip">
      {label}{' '}
      <button type="button" className="link" aria-label={fr.inbox.removeFilter(label)} onClick={onRemove}>×</button>
    </span>
  );
}

/** The teams as choices, each under its parent (indented), "all my teams" first. */
function teamOptions(teams: Team[]): Option[] {
  const known = new Set(teams.map((t) => t.external_id));
  const out: Option[] = [{ value: '', label: fr.inbox.allTeams }];
  const add = (parent: string | null, depth: number) => {
    for (const t of teams) {
      const p = t.parent_external_id && known.has(t.parent_external_id) ? t.parent_external_id : null;
      if (p !== parent || out.some((o) => o.value === t.external_id)) continue;
      out.push({ value: t.external_id, label: `${'— '.repeat(depth)}${t.name}` });
      add(t.external_id, depth + 1);
    }
  };
  add(null, 0);
  return out;
}

/** The filter bar: the search box (the URL follows the typing, debounced), the selects (a
 *  manager's or an admin's team, then its members), the dates, and the chips of the person
 *  and organisation filters. */
export function FilterBar({ filters, setFilters, onClear, users, teams, searchRef }: {
  filters: Filters;
  setFilters: (next: Filters) => void;
  onClear: () => void;
  users: User[] | undefined;
  /** The teams the caller may narrow to; the select shows when one has another member. */
  teams: Team[] | undefined;
  searchRef: RefObject<HTMLInputElement | null>;
}) {
  const setFilter = (key: keyof Filters, value: string) => setFilters({ ...filters, [key]: value });
  const [text, setText] = useState(filters.q ?? '');
  const typed = useDebounced(text, 300);
  useEffect(() => {
    if ((typed.trim() || '') !== (filters.q ?? '')) setFilters({ ...filters, q: typed.trim() });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [typed]);

  const showTeams = (teams ?? []).some((t) => t.members.length > 1);
  const team = filters.team ? teams?.find((t) => t.external_id === filters.team) : undefined;
  // With a team chosen, the assignee is one of its members (the API refuses anyone else).
  const assigneeOptions: Option[] = filters.team
    ? [
        { value: '', label: fr.inbox.allMembers },
        ...(team?.members ?? []).map((m) => ({ value: String(m.id), label: m.full_name })),
      ]
    : [
        { value: '', label: fr.inbox.everyone },
        { value: 'me', label: fr.inbox.me },
        { value: 'unassigned', label: fr.inbox.unassigned },
        ...(users ?? []).map((u) => ({ value: String(u.id), label: u.full_name })),
      ];
  const chooseTeam = (value: string) => {
    const next = teams?.find((t) => t.external_id === value);
    const keep = next?.members.some((m) => String(m.id) === filters.assignee) ?? false;
    setFilters({ ...filters, team: value, assignee: keep ? filters.assignee : '' });
  };
  const teamChoices = showTeams ? teamOptions(teams ?? []) : [];
  if (filters.team && !teamChoices.some((o) => o.value === filters.team)) {
    teamChoices.push({ value: filters.team, label: filters.team });
  }
  // A colleague's id the list does not know (yet, or any more) still shows as a choice.
  if (filters.assignee && !assigneeOptions.some((o) => o.value === filters.assignee)) {
    assigneeOptions.push({ value: filters.assignee, label: `#${filters.assignee}` });
  }
  return (
    <>
      <form className="filters" aria-label={fr.inbox.filters} onSubmit={(e) => e.preventDefault()} role="search">
        <label className="grow">
          {fr.inbox.search}
          <input
            ref={searchRef}
            type="search"
            name="q"
            value={text}
            maxLength={200}
            placeholder={fr.inbox.searchPlaceholder}
            onChange={(e) => setText(e.target.value)}
          />
        </label>
        {teamChoices.length > 0 && (
          <Select label={fr.inbox.team} name="team" value={filters.team ?? ''} options={teamChoices} onChange={chooseTeam} />
        )}
        <Select label={fr.inbox.assignee} name="assignee" value={filters.assignee} options={assigneeOptions} onChange={(v) => setFilter('assignee', v)} />
        <Select label={fr.inbox.status} name="status" value={filters.status} options={STATUS} onChange={(v) => setFilter('status', v)} />
        <Select label={fr.inbox.due} name="due" value={filters.due} options={DUE} onChange={(v) => setFilter('due', v)} />
        <Select label={fr.inbox.type} name="type" value={TYPES.some((t) => t.value === filters.type) ? filters.type ?? '' : ''} options={TYPES} onChange={(v) => setFilter('type', v)} />
        <label>
          {fr.inbox.from}
          <input type="date" name="from" value={filters.from} onChange={(e) => setFilter('from', e.target.value)} />
        </label>
        <label>
          {fr.inbox.to}
          <input type="date" name="to" value={filters.to} onChange={(e) => setFilter('to', e.target.value)} />
        </label>
      </form>
      <p className="chips">
        {filters.person_id && <EntityChip kind="person" id={Number(filters.person_id)} onRemove={() => setFilter('person_id', '')} />}
        {filters.organisation_id && (
          <EntityChip kind="organisation" id={Number(filters.organisation_id)} onRemove={() => setFilter('organisation_id', '')} />
        )}
        {writeFilters(filters) !== '' && (
          <button type="button" className="link" onClick={() => { setText(''); onClear(); }}>
            {fr.inbox.clearFilters}
          </button>
        )}
      </p>
    </>
  );
}
