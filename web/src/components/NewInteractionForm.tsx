import { useState } from 'react';

import type { InteractionType, NewInteraction, User } from '../api';
import { fromLocalInput, toLocalInput } from '../filters';
import { fr } from '../fr';
import { useCreate } from '../hooks';
import { AssigneeOptions, TypeOptions } from './Choices';
import { Dialog } from './Dialog';
import { PersonPicker, type Picked } from './PersonPicker';

export type Draft = {
  type: InteractionType;
  title: string;
  person: Picked | null;
  assigneeId: number | null;
  nextActionAt: string | null;
};

/** "Nouvelle relance", and "planifier la suivante" prefilled from the one just done. */
export function NewInteractionForm({ users, draft, heading, onClose, onCreated }: {
  users: User[];
  draft: Draft;
  heading: string;
  onClose: () => void;
  onCreated: (title: string) => void;
}) {
  const [type, setType] = useState<InteractionType>(draft.type);
  const [title, setTitle] = useState(draft.title);
  const [description, setDescription] = useState('');
  const [person, setPerson] = useState<Picked | null>(draft.person);
  const [assignee, setAssignee] = useState(draft.assigneeId ? String(draft.assigneeId) : '');
  const [date, setDate] = useState(toLocalInput(draft.nextActionAt));
  const [error, setError] = useState<string | null>(null);
  const create = useCreate();
  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    if (!title.trim()) {
      setError(fr.create.titleRequired);
      return;
    }
    const body: NewInteraction = {
      type,
      title: title.trim(),
      description: description.trim() || null,
      assignee_id: assignee ? Number(assignee) : null,
      person_id: person?.id ?? null,
      organisation_id: person?.organisationId ?? null,
      next_action_at: fromLocalInput(date),
    };
    create.mutate(body, {
      onSuccess: (created) => onCreated(created.title),
      onError: (err) => setError(`${fr.errors.refused} : ${err instanceof Error ? err.message : String(err)}`),
    });
  };
  return (
    <Dialog title={heading} onClose={onClose}>
      <form className="form" onSubmit={submit}>
        <label>
          {fr.create.type}
          <select value={type} onChange={(e) => setType(e.target.value as InteractionType)}>
            <TypeOptions />
          </select>
        </label>
        <label>
          {fr.create.fieldTitle}
          <input value={title} onChange={(e) => setTitle(e.target.value)} maxLength={500} required />
        </label>
        <label>
          {fr.create.description}
          <textarea value={description} onChange={(e) => setDescription(e.target.value)} maxLength={10000} rows={3} />
        </label>
        <fieldset>
          <legend>{fr.create.person}</legend>
          <PersonPicker value={person} onChange={setPerson} />
        </fieldset>
        <label>
          {fr.create.assignee}
          <select value={assignee} onChange={(e) => setAssignee(e.target.value)}>
            <AssigneeOptions users={users} />
          </select>
        </label>
        <label>
          {fr.create.date}
          <input type="datetime-local" value={date} onChange={(e) => setDate(e.target.value)} />
        </label>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        <div className="actions">
          <button type="submit" disabled={create.isPending}>
            {fr.create.submit}
          </button>
          <button type="button" onClick={onClose}>
            {fr.common.cancel}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
