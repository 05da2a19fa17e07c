import { describe, expect, it } from 'vitest';

import { History, historySentence } from './history';

describe('history sentences', () => {
  it('say who did what, for people and for the system', () => {
    const changes = History.parse([
      { at: '2026-12-07T10:00:00Z', actor: { kind: 'user', id: 2, name: 'Hugo Bernard' }, field: 'next_action_at', old_value: null, new_value: '2026-12-10T09:00:00+00:00' },
      { at: '2026-12-07T10:00:00Z', actor: { kind: 'user', id: 2, name: 'Hugo Bernard' }, field: 'assignee_id', old_value: 1, new_value: 3 },
      { at: '2026-12-07T10:00:00Z', actor: { kind: 'user', id: 1, name: 'Camille Martin' }, field: 'status', old_value: 'todo', new_value: 'done' },
      { at: '2026-12-07T10:00:00Z', actor: { kind: 'system', name: 'scoring' }, field: 'created', old_value: null, new_value: null },
      { at: '2026-12-07T10:00:00Z', actor: { kind: 'user', id: 2, name: 'Hugo Bernard' }, field: 'assignee_id', old_value: 3, new_value: null },
    ]);
    const names = new Map([[3, 'Léa Petit']]);
    expect(changes.map((c) => historySentence(c, names))).toEqual([
      'Hugo Bernard a reporté au 10 déc. 2026',
      'Hugo Bernard a assigné la relance à Léa Petit',
      'Camille Martin a passé le statut à « Terminé »',
      'Le scoring a créé la relance',
      "Hugo Bernard a retiré l'assignation",
    ]);
  });
});
