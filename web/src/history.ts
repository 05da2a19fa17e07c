import { z } from 'zod';

import { fr } from './fr';
import { formatDay } from './format';

/** One change of an interaction, as `GET /api/v1/interactions/{id}/history` gives it. */
export const HistoryChange = z.object({
  at: z.string(),
  actor: z.union([
    z.object({ kind: z.literal('user'), id: z.number(), name: z.string().nullable().optional() }),
    z.object({ kind: z.literal('system'), name: z.string() }),
  ]),
  field: z.string(),
  old_value: z.unknown().optional(),
  new_value: z.unknown().optional(),
});
export type HistoryChange = z.infer<typeof HistoryChange>;
export const History = z.array(HistoryChange);

const SYSTEM: Record<string, string> = { scoring: 'Le scoring', reminder: 'Le rappel automatique', crm: 'Le CRM' };

function who(change: HistoryChange): string {
  if (change.actor.kind === 'user') return change.actor.name ?? `Utilisateur n° ${change.actor.id}`;
  return SYSTEM[change.actor.name] ?? 'Le système';
}

/** A change as a sentence: "Hugo Bernard a reporté au 10 déc. 2026". `names` gives users'
 *  names by id (the assignee menus' list). */
export function historySentence(change: HistoryChange, names: Map<number, string>): string {
  const by = who(change);
  const value = change.new_value;
  switch (change.field) {
    case 'created':
      return `${by} a créé la relance`;
    case 'status':
      return `${by} a passé le statut à « ${fr.status[value as keyof typeof fr.status] ?? String(value)} »`;
    case 'assignee_id':
      return typeof value === 'number'
        ? `${by} a assigné la relance à ${names.get(value) ?? `l'utilisateur n° ${value}`}`
        : `${by} a retiré l'assignation`;
    case 'next_action_at':
      return typeof value === 'string' ? `${by} a reporté au ${formatDay(value)}` : `${by} a retiré la prochaine action`;
    case 'title':
      return `${by} a renommé la relance en « ${String(value)} »`;
    case 'description':
      return `${by} a modifié la description`;
    case 'type':
      return `${by} a changé le type en « ${fr.type[value as keyof typeof fr.type] ?? String(value)} »`;
    default:
      return `${by} a modifié ${change.field}`;
  }
}
