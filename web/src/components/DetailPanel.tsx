import { useState } from 'react';
import { Link } from 'react-router';

import type { Interaction, InteractionType } from '../api';
import { STATUS_LABEL, formatDate } from '../format';
import { fr } from '../fr';
import { historySentence } from '../history';
import { useEdit, useHistory, useInteraction, useUsers } from '../hooks';
import { TypeOptions } from './Choices';
import { Dialog } from './Dialog';
import { ErrorBox } from './ErrorBox';

function EditForm({ item, onClose }: { item: Interaction; onClose: () => void }) {
  const [title, setTitle] = useState(item.title);
  const [description, setDescription] = useState(item.description ?? '');
  const [type, setType] = useState(item.type);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const edit = useEdit();
  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    if (!title.trim()) {
      setMessage({ ok: false, text: fr.create.titleRequired });
      return;
    }
    edit.mutate(
      { id: item.id, edit: { title: title.trim(), description: description.trim() ? description : null, type } },
      {
        onSuccess: () => setMessage({ ok: true, text: fr.common.saved }),
        onError: (err) => setMessage({ ok: false, text: `${fr.errors.refused} : ${err instanceof Error ? err.message : String(err)}` }),
      },
    );
  };
  return (
    <form className="form" onSubmit={submit}>
      <p className="meta">
        <span className={`badge status-${item.status}`}>{STATUS_LABEL[item.status]}</span>
        <span className="badge assignee">{item.assignee_name ?? fr.inbox.unassigned}</span>
        {fr.card.nextAction} {formatDate(item.next_action_at)}
      </p>
      <p className="meta">
        {item.person_id && (
          <>
            {fr.detail.person} : <Link to={`/people/${item.person_id}`}>{item.person_name ?? fr.common.person(item.person_id)}</Link>
          </>
        )}
        {item.organisation_id && (
          <>
            {fr.detail.organisation} : <Link to={`/organisations/${item.organisation_id}`}>{item.organisation_name}</Link>
          </>
        )}
      </p>
      <label>
        {fr.detail.fieldType}
        <select value={type} onChange={(e) => setType(e.target.value as InteractionType)}>
          <TypeOptions />
        </select>
      </label>
      <label>
        {fr.detail.fieldTitle}
        <input value={title} onChange={(e) => setTitle(e.target.value)} maxLength={500} />
      </label>
      <label>
        {fr.detail.fieldDescription}
        <textarea value={description} onChange={(e) => setDescription(e.target.value)} maxLength={10000} rows={6} />
      </label>
      <p className="muted">
        {fr.detail.created} {formatDate(item.created_at)}
      </p>
      {message && (
        <p role={message.ok ? 'status' : 'alert'} className={message.ok ? 'ok' : 'error'}>
          {message.text}
        </p>
      )}
      <div className="actions">
        <button type="submit" disabled={edit.isPending}>
          {fr.common.save}
        </button>
        <button type="button" onClick={onClose}>
          {fr.common.close}
        </button>
      </div>
    </form>
  );
}

/** One interaction, read and edited (title, description, type); opened from `?interaction=`. */
export function DetailPanel({ id, onClose }: { id: number; onClose: () => void }) {
  const item = useInteraction(id);
  return (
    <Dialog title={fr.detail.title} onClose={onClose}>
      {item.isPending && <p>{fr.common.loading}</p>}
      {item.isError &&
        (item.error && 'status' in item.error && item.error.status === 404 ? (
          <p role="alert" className="error">{fr.detail.notFound}</p>
        ) : (
          <ErrorBox what={fr.errors.load} error={item.error} onRetry={() => item.refetch()} />
        ))}
      {item.data && <EditForm key={item.data.id} item={item.data} onClose={onClose} />}
      {item.data && <HistoryList id={item.data.id} />}
    </Dialog>
  );
}

/** Who changed what, newest first: the last ten changes, as sentences. */
function HistoryList({ id }: { id: number }) {
  const history = useHistory(id);
  const users = useUsers();
  const names = new Map((users.data ?? []).map((u) => [u.id, u.full_name]));
  if (!history.data || history.data.length === 0) return null;
  return (
    <section aria-labelledby="history-title">
      <h3 id="history-title">{fr.detail.history}</h3>
      <ul className="history">
        {history.data.slice(0, 10).map((change, n) => (
          <li key={n}>
            {historySentence(change, names)} <span className="muted">{formatDate(change.at)}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}
