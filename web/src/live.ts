// The live feed: GET /api/v1/stream as Server-Sent Events, read with fetch (EventSource cannot
// send the Authorization header). It resumes after a drop or a sleep with the last event id it
// saw, so the server replays exactly what was missed; a `reset` event means the gap is older
// than the server keeps, and the caller refetches.
import { z } from 'zod';

import { Interaction, Notification, session } from './api';

export type SseEvent = { id: string | null; event: string; data: string };

/** Splits `buffer` into complete events and what is left of an incomplete one. Comment lines
 *  (heartbeats) are skipped; `data` lines are joined with newlines, as the spec says. */
export function parseSse(buffer: string): { events: SseEvent[]; rest: string } {
  const events: SseEvent[] = [];
  const normalized = buffer.replace(/\r\n?/g, '\n');
  const frames = normalized.split('\n\n');
  const rest = frames.pop() ?? '';
  for (const frame of frames) {
    let id: string | null = null;
    let event = 'message';
    const data: string[] = [];
    let fields = 0;
    for (const line of frame.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      fields += 1;
      if (field === 'id') id = value;
      else if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (fields > 0) events.push({ id, event, data: data.join('\n') });
  }
  return { events, rest };
}

export const InteractionEvent = z.object({
  change: z.enum(['created', 'updated', 'deleted']),
  interaction_id: z.number(),
  interaction: Interaction.nullable(),
});
export type InteractionEvent = z.infer<typeof InteractionEvent>;

// As the reminder publishes it: a notification, unread.
export const NotificationEvent = Notification.omit({ read_at: true });
export type NotificationEvent = z.infer<typeof NotificationEvent>;

/** `ended`: the server refused the session (401); the feed stops until the next sign-in. */
export type LiveStatus = 'connecting' | 'live' | 'offline' | 'ended';

export type LiveHandlers = {
  onInteraction: (event: InteractionEvent) => void;
  onNotification: (event: NotificationEvent) => void;
  /** The server no longer has what was missed: refetch everything shown. */
  onReset: () => void;
  onStatus: (status: LiveStatus) => void;
};

/** Connects and stays connected (backoff 1 s doubling to 30 s) until the returned function is
 *  called. */
export function connectLive(handlers: LiveHandlers): () => void {
  const controller = new AbortController();
  let lastEventId: string | null = null;
  let delay = 1000;

  const dispatch = (e: SseEvent) => {
    if (e.id !== null) lastEventId = e.id;
    try {
      if (e.event === 'ready') handlers.onStatus('live');
      else if (e.event === 'reset') {
        handlers.onStatus('live');
        handlers.onReset();
      } else if (e.event === 'interaction') handlers.onInteraction(InteractionEvent.parse(JSON.parse(e.data)));
      // An item that left the viewer's scope (reassigned to someone they do not see): gone,
      // for them, as a deleted one is.
      else if (e.event === 'removed') {
        const { id } = JSON.parse(e.data) as { id: number };
        handlers.onInteraction(InteractionEvent.parse({ change: 'deleted', interaction_id: id, interaction: null }));
      }
      else if (e.event === 'notification') handlers.onNotification(NotificationEvent.parse(JSON.parse(e.data)));
    } catch (error) {
      // A malformed event must not stop the feed; it is reported and skipped.
      console.warn('événement en direct ignoré', error);
    }
  };

  const run = async () => {
    while (!controller.signal.aborted) {
      handlers.onStatus('connecting');
      try {
        const headers = new Headers({ Accept: 'text/event-stream' });
        const token = session.token();
        if (token) headers.set('Authorization', `Bearer ${token}`);
        if (lastEventId !== null) headers.set('Last-Event-ID', lastEventId);
        const response = await fetch('/api/v1/stream', { headers, signal: controller.signal, cache: 'no-store' });
        if (response.status === 401) {
          handlers.onStatus('ended');
          return; // signed out; the app shows the login page
        }
        if (!response.ok || !response.body) throw new Error(`stream: ${response.status}`);
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          const parsed = parseSse(buffer + value);
          buffer = parsed.rest;
          for (const e of parsed.events) {
            delay = 1000;
            dispatch(e);
          }
        }
      } catch {
        if (controller.signal.aborted) return;
      }
      handlers.onStatus('offline');
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 30_000);
    }
  };
  void run();
  return () => controller.abort();
}
