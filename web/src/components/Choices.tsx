import { InteractionType, type User } from '../api';
import { TYPE_LABEL } from '../format';
import { fr } from '../fr';

/** The interaction types, as `<option>`s. */
export function TypeOptions() {
  return (
    <>
      {InteractionType.options.map((t) => (
        <option key={t} value={t}>
          {TYPE_LABEL[t].label}
        </option>
      ))}
    </>
  );
}

/** "Non assigné" and every active user, as `<option>`s (value: the user id, or empty). */
export function AssigneeOptions({ users }: { users: User[] }) {
  return (
    <>
      <option value="">{fr.inbox.unassigned}</option>
      {users.map((u) => (
        <option key={u.id} value={u.id}>
          {u.full_name}
        </option>
      ))}
    </>
  );
}
