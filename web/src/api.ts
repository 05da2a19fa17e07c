// The inbox API, typed with zod: responses are checked at the edge, so a contract drift shows up
// as a clear error instead of a broken screen.
import { z } from 'zod';

export const Status = z.enum(['todo', 'in_progress', 'done']);
export type Status = z.infer<typeof Status>;

export const Interaction = z.object({
  id: z.number(),
  type: z.enum(['call', 'email', 'meeting', 'note']),
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
});
export type Interaction = z.infer<typeof Interaction>;

export const InboxPage = z.object({
  items: z.array(Interaction),
  total: z.number(),
  limit: z.number(),
  cursor: z.string().nullable(),
});
export type InboxPage = z.infer<typeof InboxPage>;

export const Stats = z.object({
  total: z.number(),
  todo: z.number(),
  in_progress: z.number(),
  done: z.number(),
});
export type Stats = z.infer<typeof Stats>;

export const HotLead = z.object({
  person_id: z.number(),
  score: z.number(),
  last_event_at: z.string().nullable(),
  person_name: z.string().nullable(),
  person_email: z.string().nullable(),
});
export const HeatLevels = z.object({ warm: z.number(), hot: z.number(), very_hot: z.number() });
export const HotLeads = z.object({
  items: z.array(HotLead),
  threshold: z.number(),
  total: z.number(),
  heat: HeatLevels,
});
export type HotLead = z.infer<typeof HotLead>;
export type HotLeads = z.infer<typeof HotLeads>;

export const Notification = z.object({
  id: z.number(),
  kind: z.string(),
  interaction_id: z.number().nullable(),
  title: z.string(),
  due_at: z.string().nullable(),
  created_at: z.string(),
  read_at: z.string().nullable(),
});
export type Notification = z.infer<typeof Notification>;
export const Notifications = z.object({ items: z.array(Notification), unread: z.number() });
export type Notifications = z.infer<typeof Notifications>;

export const User = z.object({ id: z.number(), full_name: z.string(), email: z.string() });
export type User = z.infer<typeof User>;
export const Token = z.object({ token: z.string(), expires_at: z.string(), user: User });
export const OidcConfig = z.object({ issuer: z.string(), client_id: z.string(), scopes: z.string() });
export type OidcConfig = z.infer<typeof OidcConfig>;
export const AuthConfig = z.object({ dev_login: z.boolean(), oidc: OidcConfig.nullable() });
export type AuthConfig = z.infer<typeof AuthConfig>;

const TOKEN_KEY = 'relance.token';
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

async function call<T>(schema: z.ZodType<T>, path: string, init: RequestInit = {}): Promise<T> {
  const headers = new Headers(init.headers);
  const token = session.token();
  if (token) headers.set('Authorization', `Bearer ${token}`);
  if (init.body) headers.set('Content-Type', 'application/json');
  const response = await fetch(path, { ...init, headers });
  if (response.status === 401) session.clear();
  if (!response.ok) {
    let detail = response.statusText;
    try {
      const problem = await response.json();
      detail = problem.errors?.map((e: { field: string; message: string }) => `${e.field} : ${e.message}`).join(', ') || problem.detail || detail;
    } catch {
      // not problem+json
    }
    throw new ApiError(response.status, detail);
  }
  return schema.parse(await response.json());
}

export type Filters = { assignee: string; status: string; due: string };

function inboxQuery(filters: Filters, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams();
  if (filters.assignee) params.set('assignee', filters.assignee);
  if (filters.status) params.set('status', filters.status);
  if (filters.due) params.set('due', filters.due);
  params.set('tz', Intl.DateTimeFormat().resolvedOptions().timeZone || 'Europe/Paris');
  for (const [k, v] of Object.entries(extra)) params.set(k, v);
  return params.toString();
}

export const api = {
  inbox: (filters: Filters, cursor?: string | null, limit = 20) =>
    call(InboxPage, `/api/v1/interactions/inbox?${inboxQuery(filters, { limit: String(limit), ...(cursor ? { cursor } : {}) })}`),
  stats: (filters: Filters) =>
    call(Stats, `/api/v1/interactions/inbox/stats?${inboxQuery({ ...filters, status: '' })}`),
  /** The server's configured threshold applies (`scoring.rules.hot_threshold`). */
  hotLeads: (limit = 5) => call(HotLeads, `/api/v1/marketing/leads-hot?limit=${limit}`),
  setStatus: (id: number, status: Status) =>
    call(Interaction, `/api/v1/interactions/${id}/status`, { method: 'PATCH', body: JSON.stringify({ status }) }),
  setNextAction: (id: number, next_action_at: string | null) =>
    call(Interaction, `/api/v1/interactions/${id}/next-action`, { method: 'PATCH', body: JSON.stringify({ next_action_at }) }),
  notifications: () => call(Notifications, '/api/v1/notifications?limit=20'),
  markRead: (id: number) => call(Notification, `/api/v1/notifications/${id}/read`, { method: 'PATCH' }),
  me: () => call(User, '/api/v1/me'),
  authConfig: () => call(AuthConfig, '/api/v1/auth/config'),
  devLogin: (user_id: number) =>
    call(Token, '/api/v1/auth/dev-login', { method: 'POST', body: JSON.stringify({ user_id }) }),
};
