// The inbox API, typed with zod: responses are checked at the edge, so a contract drift shows up
// as a clear error instead of a broken screen.
import { z } from 'zod';

import { History } from './history';

import { fr } from './fr';

export const Status = z.enum(['todo', 'in_progress', 'done']);
export type Status = z.infer<typeof Status>;
export const InteractionType = z.enum(['call', 'email', 'meeting', 'note']);
export type InteractionType = z.infer<typeof InteractionType>;

export const Interaction = z.object({
  id: z.number(),
  type: InteractionType,
  title: z.string(),
  description: z.string().nullable(),
  status: Status,
  assignee_id: z.number().nullable(),
  assignee_name: z.string().nullable(),
  next_action_at: z.string().nullable(),
  notified_at: z.string().nullable(),
  person_id: z.number().nullable(),
  person_name: z.string().nullable(),
  organisation_id: z.number().nullable(),
  organisation_name: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  // A hot lead's first-touch deadline, first touch and breach (optional: older servers).
  sla_due_at: z.string().nullable().optional(),
  first_touched_at: z.string().nullable().optional(),
  sla_breached_at: z.string().nullable().optional(),
});
export type Interaction = z.infer<typeof Interaction>;

export const InboxPage = z.object({
  items: z.array(Interaction),
  total: z.number(),
  /** A search past the server's exact limit: `total` is that limit, the real count higher. */
  total_is_lower_bound: z.boolean().default(false),
  limit: z.number(),
  cursor: z.string().nullable(),
});
export type InboxPage = z.infer<typeof InboxPage>;

export const Stats = z.object({
  total: z.number(),
  todo: z.number(),
  in_progress: z.number(),
  done: z.number(),
  total_is_lower_bound: z.boolean().default(false),
});
export type Stats = z.infer<typeof Stats>;

export const HeatLevels = z.object({ warm: z.number(), hot: z.number(), very_hot: z.number() });
export type HeatLevels = z.infer<typeof HeatLevels>;
export const HotLead = z.object({
  person_id: z.number(),
  score: z.number(),
  last_event_at: z.string().nullable(),
  person_name: z.string().nullable(),
  person_email: z.string().nullable(),
});
export const HotLeads = z.object({
  items: z.array(HotLead),
  threshold: z.number(),
  total: z.number(),
  heat: HeatLevels,
});
export type HotLead = z.infer<typeof HotLead>;
export type HotLeads = z.infer<typeof HotLeads>;

const Named = z.object({ id: z.number(), name: z.string() });
export const Person = z.object({
  id: z.number(),
  external_id: z.string().nullable(),
  first_name: z.string(),
  last_name: z.string(),
  email: z.string().nullable(),
  phone: z.string().nullable(),
  organisation: Named.nullable(),
  owner: Named.nullable(),
  score: z.number(),
  hot: z.boolean(),
  last_event_at: z.string().nullable(),
  heat: HeatLevels,
});
export type Person = z.infer<typeof Person>;
export const PersonSummary = z.object({
  id: z.number(),
  name: z.string().nullable(),
  email: z.string().nullable(),
  organisation_id: z.number().nullable(),
  organisation_name: z.string().nullable(),
  score: z.number(),
});
export type PersonSummary = z.infer<typeof PersonSummary>;
export const PeoplePage = z.object({ items: z.array(PersonSummary), cursor: z.string().nullable() });
export const Organisation = z.object({
  id: z.number(),
  external_id: z.string().nullable(),
  name: z.string(),
  people: z.array(z.object({ id: z.number(), name: z.string().nullable(), email: z.string().nullable(), score: z.number() })),
  people_total: z.number(),
  heat: HeatLevels,
});
export type Organisation = z.infer<typeof Organisation>;
export const ScoreChange = z.object({
  id: z.number(),
  delta: z.number(),
  score_after: z.number(),
  reason: z.string(),
  occurred_at: z.string(),
});
export type ScoreChange = z.infer<typeof ScoreChange>;
export const PersonScore = z.object({ person_id: z.number(), score: z.number(), history: z.array(ScoreChange) });
export const EmailSend = z.object({
  id: z.number(),
  provider: z.string(),
  subject: z.string().nullable(),
  status: z.string(),
  sent_at: z.string().nullable(),
  open_count: z.number(),
  click_count: z.number(),
  last_open_at: z.string().nullable(),
  last_click_at: z.string().nullable(),
});
export type EmailSend = z.infer<typeof EmailSend>;
export const EmailSends = z.object({ items: z.array(EmailSend), total: z.number() });

export const Notification = z.object({
  id: z.number(),
  kind: z.string(),
  interaction_id: z.number().nullable(),
  title: z.string(),
  by_name: z.string().nullable().optional(),
  due_at: z.string().nullable(),
  created_at: z.string(),
  read_at: z.string().nullable(),
});
export type Notification = z.infer<typeof Notification>;
export const Notifications = z.object({ items: z.array(Notification), unread: z.number() });
export type Notifications = z.infer<typeof Notifications>;

export const User = z.object({ id: z.number(), full_name: z.string(), email: z.string() });
export type User = z.infer<typeof User>;
/** A team the caller may narrow the inbox to, with the members they see. */
export const Team = z.object({
  external_id: z.string(),
  name: z.string(),
  parent_external_id: z.string().nullable(),
  members: z.array(z.object({ id: z.number(), full_name: z.string(), is_active: z.boolean() })),
});
export type Team = z.infer<typeof Team>;
export const NotifyEmail = z.enum(['off', 'instant', 'daily']);
export type NotifyEmail = z.infer<typeof NotifyEmail>;
export const Preferences = z.object({
  notify_email: NotifyEmail,
  timezone: z.string(),
  digest_hour: z.number(),
  // Availability (speed to lead): optional, so an older server still reads.
  away_until: z.string().nullable().optional(),
  work_days: z.array(z.number()).optional(),
  work_start: z.string().optional(),
  work_end: z.string().optional(),
});
export type Preferences = z.infer<typeof Preferences>;
export const Role = z.enum(['rep', 'manager', 'admin']);
export type Role = z.infer<typeof Role>;
export const Me = User.extend({ role: Role.default('rep'), preferences: Preferences });
export type Me = z.infer<typeof Me>;
export const Token = z.object({ token: z.string(), expires_at: z.string(), user: User });
export const OidcConfig = z.object({ issuer: z.string(), client_id: z.string(), scopes: z.string() });
export type OidcConfig = z.infer<typeof OidcConfig>;
export const AuthConfig = z.object({ dev_login: z.boolean(), oidc: OidcConfig.nullable() });
export type AuthConfig = z.infer<typeof AuthConfig>;
export const BulkResult = z.object({ matched: z.number(), changed: z.number(), not_found: z.array(z.number()).default([]) });
export type BulkResult = z.infer<typeof BulkResult>;

const TOKEN_KEY = 'relance.token';
/** Fired when the server says the session is over (a 401): the app goes to sign-in and back. */
export const SIGNED_OUT_EVENT = 'relance:signed-out';
export const session = {
  token: (): string | null => localStorage.getItem(TOKEN_KEY),
  save: (token: string) => localStorage.setItem(TOKEN_KEY, token),
  clear: () => localStorage.removeItem(TOKEN_KEY),
};

export class ApiError extends Error {
  constructor(
    public status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The problem+json's fields, or its detail, as one readable line. */
async function problemText(response: Response): Promise<string> {
  try {
    const problem = await response.json();
    const fields = problem.errors?.map((e: { field: string; message: string }) => `${e.field} : ${e.message}`).join(', ');
    return fields || problem.detail || problem.title || response.statusText;
  } catch {
    return response.statusText || `HTTP ${response.status}`;
  }
}

async function send(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const token = session.token();
  if (token) headers.set('Authorization', `Bearer ${token}`);
  if (init.body) headers.set('Content-Type', 'application/json');
  let response: Response;
  try {
    response = await fetch(path, { ...init, headers });
  } catch {
    throw new ApiError(0, fr.errors.network);
  }
  if (response.status === 401 && token) {
    session.clear();
    window.dispatchEvent(new Event(SIGNED_OUT_EVENT));
  }
  if (!response.ok) throw new ApiError(response.status, await problemText(response));
  return response;
}

async function call<T>(schema: z.ZodType<T>, path: string, init: RequestInit = {}): Promise<T> {
  const response = await send(path, init);
  const parsed = schema.safeParse(await response.json().catch(() => undefined));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ApiError(response.status, fr.errors.unexpected(path.split('?')[0], issue ? `${issue.path.join('.')} ${issue.message}` : ''));
  }
  return parsed.data;
}

/** The inbox's filters, as the URL and the API name them (`''`: not set). */
export type Filters = {
  assignee: string;
  /** A team's external id: its members' items (`assignee` then names one of them). */
  team?: string;
  status: string;
  due: string;
  type?: string;
  person_id?: string;
  organisation_id?: string;
  from?: string;
  to?: string;
  q?: string;
};

export function timeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'Europe/Paris';
}

export function inboxQuery(filters: Filters, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams();
  for (const key of ['assignee', 'team', 'status', 'due', 'type', 'person_id', 'organisation_id', 'from', 'to', 'q'] as const) {
    const value = filters[key];
    if (value) params.set(key, value);
  }
  params.set('tz', timeZone());
  for (const [k, v] of Object.entries(extra)) params.set(k, v);
  return params.toString();
}

/** The filters as bulk-by-filter takes them (person and organisation ids are numbers). */
export function bulkFilter(filters: Filters): Record<string, string | number> {
  const out: Record<string, string | number> = { tz: timeZone() };
  for (const [key, value] of Object.entries(filters)) {
    if (!value) continue;
    out[key] = key === 'person_id' || key === 'organisation_id' ? Number(value) : value;
  }
  return out;
}

export type BulkSet = { status: Status } | { assignee_id: number | null } | { next_action_at: string | null };
export type BulkTarget = { ids: number[] } | { filter: Record<string, string | number> };
export type NewInteraction = {
  type: InteractionType;
  title: string;
  description?: string | null;
  assignee_id?: number | null;
  person_id?: number | null;
  organisation_id?: number | null;
  next_action_at?: string | null;
};
export type InteractionEdit = { title?: string; description?: string | null; type?: InteractionType };

const json = (method: string, body: unknown): RequestInit => ({ method, body: JSON.stringify(body) });

/** Downloads `path` (sent with the token) as the file `name`. */
export async function download(path: string, name: string): Promise<void> {
  const response = await send(path);
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export const api = {
  inbox: (filters: Filters, cursor?: string | null, limit = 20) =>
    call(InboxPage, `/api/v1/interactions/inbox?${inboxQuery(filters, { limit: String(limit), ...(cursor ? { cursor } : {}) })}`),
  stats: (filters: Filters) =>
    call(Stats, `/api/v1/interactions/inbox/stats?${inboxQuery({ ...filters, status: '' })}`),
  exportInbox: (filters: Filters) =>
    download(`/api/v1/interactions/inbox/export?${inboxQuery(filters)}`, 'relances.csv'),
  interaction: (id: number) => call(Interaction, `/api/v1/interactions/${id}`),
  history: (id: number) => call(History, `/api/v1/interactions/${id}/history`),
  create: (body: NewInteraction) => call(Interaction, '/api/v1/interactions', json('POST', body)),
  edit: (id: number, body: InteractionEdit) => call(Interaction, `/api/v1/interactions/${id}`, json('PATCH', body)),
  setStatus: (id: number, status: Status) => call(Interaction, `/api/v1/interactions/${id}/status`, json('PATCH', { status })),
  setAssignee: (id: number, assignee_id: number | null) =>
    call(Interaction, `/api/v1/interactions/${id}/assignee`, json('PATCH', { assignee_id })),
  setNextAction: (id: number, next_action_at: string | null) =>
    call(Interaction, `/api/v1/interactions/${id}/next-action`, json('PATCH', { next_action_at })),
  bulk: (target: BulkTarget, set: BulkSet) => call(BulkResult, '/api/v1/interactions/bulk', json('POST', { ...target, set })),
  /** The server's configured threshold applies unless one is given. */
  hotLeads: (limit = 5, threshold?: number) =>
    call(HotLeads, `/api/v1/marketing/leads-hot?limit=${limit}${threshold === undefined ? '' : `&threshold=${threshold}`}`),
  exportLeads: (threshold: number) =>
    download(`/api/v1/marketing/leads-hot/export?threshold=${threshold}&tz=${encodeURIComponent(timeZone())}`, 'leads-chauds.csv'),
  person: (id: number) => call(Person, `/api/v1/people/${id}`),
  personScore: (id: number) => call(PersonScore, `/api/v1/people/${id}/score`),
  personSends: (id: number) => call(EmailSends, `/api/v1/people/${id}/sends?limit=50`),
  people: (q: string, limit = 10) => call(PeoplePage, `/api/v1/people?limit=${limit}&q=${encodeURIComponent(q)}`),
  organisation: (id: number) => call(Organisation, `/api/v1/organisations/${id}`),
  users: () => call(z.array(User), '/api/v1/users'),
  teams: () => call(z.array(Team), '/api/v1/teams'),
  notifications: () => call(Notifications, '/api/v1/notifications?limit=20'),
  markRead: (id: number) => call(Notification, `/api/v1/notifications/${id}/read`, { method: 'PATCH' }),
  readAll: () => send('/api/v1/notifications/read-all', { method: 'POST' }).then(() => undefined),
  me: () => call(Me, '/api/v1/me'),
  setPreferences: (change: Partial<Preferences>) => call(Preferences, '/api/v1/me/preferences', json('PATCH', change)),
  authConfig: () => call(AuthConfig, '/api/v1/auth/config'),
  devLogin: (user_id: number) => call(Token, '/api/v1/auth/dev-login', json('POST', { user_id })),
};
