// The inbox's filters in the URL: read and validated (a bad value falls back to its default,
// so a hand-edited or stale link never shows a blank select), and written back.
import { z } from 'zod';

import type { Filters } from './api';

const Assignee = z.union([z.enum(['me', 'unassigned']), z.string().regex(/^[1-9][0-9]{0,17}$/)]);
const StatusFilter = z.enum(['todo', 'in_progress', 'done']);
const Due = z.enum(['overdue', 'today', 'week', 'all']);
const Types = z.string().regex(/^(call|email|meeting|note)(,(call|email|meeting|note))*$/);
const TeamId = z.string().regex(/^[^\p{Cc}]{1,200}$/u);
const Id = z.string().regex(/^[1-9][0-9]{0,17}$/);
const Day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/).refine((d) => !Number.isNaN(new Date(`${d}T00:00:00`).getTime()));

/** The filters a URL asks for; every unknown or bad value is dropped (`due` falls back to
 *  `all`). `from`/`to` are calendar days (`2026-12-02`), turned into local midnights for the
 *  API by [`toApi`]. */
export function readFilters(search: URLSearchParams): Filters {
  const pick = <T,>(schema: z.ZodType<T>, key: string, fallback: T): T => {
    const parsed = schema.safeParse(search.get(key) ?? undefined);
    return parsed.success ? parsed.data : fallback;
  };
  const q = (search.get('q') ?? '').replace(/\p{Cc}/gu, ' ').trim().slice(0, 200);
  let from = pick(Day, 'from', '');
  let to = pick(Day, 'to', '');
  if (from && to && to <= from) to = '';
  if (!from) from = '';
  return {
    assignee: pick(Assignee, 'assignee', ''),
    team: pick(TeamId, 'team', ''),
    status: pick(StatusFilter, 'status', ''),
    due: pick(Due, 'due', 'all'),
    type: pick(Types, 'type', ''),
    person_id: pick(Id, 'person_id', ''),
    organisation_id: pick(Id, 'organisation_id', ''),
    from,
    to,
    q,
  };
}

/** `filters` as a query string, defaults left out, other parameters of `search` kept. */
export function writeFilters(filters: Filters, search = new URLSearchParams()): string {
  const next = new URLSearchParams(search);
  for (const [key, value] of Object.entries(filters)) {
    if (value && !(key === 'due' && value === 'all')) next.set(key, value);
    else next.delete(key);
  }
  return next.toString();
}

/** A calendar day at local midnight, with its offset (`2026-12-02T00:00:00+01:00`). */
export function localMidnight(day: string): string {
  const date = new Date(`${day}T00:00:00`);
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  const hh = String(Math.floor(abs / 60)).padStart(2, '0');
  const mm = String(abs % 60).padStart(2, '0');
  return `${day}T00:00:00${sign}${hh}:${mm}`;
}

/** The filters as the API takes them: days become instants. */
export function toApi(filters: Filters): Filters {
  return {
    ...filters,
    from: filters.from ? localMidnight(filters.from) : '',
    to: filters.to ? localMidnight(filters.to) : '',
  };
}

/** Whether any filter beyond assignee, status and due is set (those the live feed cannot
 *  decide on its own: `q`'s folding is the server's). */
export function hasSearch(filters: Filters): boolean {
  return !!filters.q;
}

/** A `datetime-local` input's value for an instant, in local time. */
export function toLocalInput(iso: string | null): string {
  if (!iso) return '';
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A `datetime-local` input's value as an instant; `null` when empty or invalid. */
export function fromLocalInput(value: string): string | null {
  if (!value) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}
