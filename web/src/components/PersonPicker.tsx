import { useId, useState } from 'react';

import type { PersonSummary } from '../api';
import { fr } from '../fr';
import { useDebounced, usePeopleSearch } from '../hooks';

export type Picked = { id: number; name: string; organisationId: number | null };

/** Search people by name or email and pick one (the people search API). */
export function PersonPicker({ value, onChange }: { value: Picked | null; onChange: (p: Picked | null) => void }) {
  const [text, setText] = useState('');
  const q = useDebounced(text, 250);
  const people = usePeopleSearch(q);
  const listId = useId();
  if (value) {
    return (
      <p className="picked">
        <span data-testid="picked-person">{value.name}</span>{' '}
        <button type="button" className="link" onClick={() => onChange(null)}>
          {fr.create.personClear}
        </button>
      </p>
    );
  }
  const pick = (p: PersonSummary) =>
    onChange({ id: p.id, name: p.name ?? p.email ?? fr.common.person(p.id), organisationId: p.organisation_id });
  return (
    <div className="picker">
      <input
        type="search"
        aria-label={fr.create.personSearch}
        aria-controls={listId}
        value={text}
        onChange={(e) => setText(e.target.value)}
        placeholder={fr.create.personSearch}
      />
      {q.trim().length >= 2 && (
        <ul id={listId} aria-label={fr.create.person} className="picker-results">
          {people.data?.items.length === 0 && <li className="muted">{fr.create.personNone}</li>}
          {people.data?.items.map((p) => (
            <li key={p.id}>
              <button type="button" className="link" onClick={() => pick(p)}>
                {p.name ?? fr.common.unnamed} {p.email && <span className="muted">{p.email}</span>}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
