import { afterEach, describe, expect, it, vi } from 'vitest';

import { connectLive, parseSse } from './live';

afterEach(() => vi.restoreAllMocks());

describe('parseSse', () => {
  it('splits complete events, keeps the incomplete rest, skips heartbeats', () => {
    const { events, rest } = parseSse(
      'event: ready\nid: 4\ndata: {"last_event_id":4}\n\n:heartbeat\n\nevent: interaction\nid: 5\ndata: {"a":\ndata: 1}\n\nevent: inter',
    );
    expect(events).toEqual([
      { id: '4', event: 'ready', data: '{"last_event_id":4}' },
      { id: '5', event: 'interaction', data: '{"a":\n1}' },
    ]);
    expect(rest).toBe('event: inter');
  });

  it('accepts CRLF line ends and fields without a space', () => {
    const { events, rest } = parseSse('id:7\r\nevent:reset\r\ndata:{}\r\n\r\n');
    expect(events).toEqual([{ id: '7', event: 'reset', data: '{}' }]);
    expect(rest).toBe('');
  });

  it('resumes across chunk boundaries', () => {
    const first = parseSse('event: notification\nid: 9\nda');
    expect(first.events).toEqual([]);
    const second = parseSse(first.rest + 'ta: {"id":1}\n\n');
    expect(second.events).toEqual([{ id: '9', event: 'notification', data: '{"id":1}' }]);
  });
});

describe('connectLive', () => {
  function streamOf(text: string, keepOpen = false): ReadableStream<Uint8Array> {
    return new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(text));
        if (!keepOpen) controller.close();
      },
    });
  }

  it('resumes after a drop with the last event id, and reports its status', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const sent: (string | null)[] = [];
    const interaction = {
      id: 3, type: 'call', title: 'Rappeler', description: null, status: 'todo', assignee_id: null,
      assignee_name: null, next_action_at: null, notified_at: null, person_id: null, person_name: null,
      organisation_id: null, organisation_name: null, created_at: '2026-11-24T10:00:00Z', updated_at: '2026-11-24T10:00:00Z',
    };
    vi.spyOn(globalThis, 'fetch').mockImplementation(async (_input, init) => {
      sent.push(new Headers(init?.headers).get('Last-Event-ID'));
      const body = sent.length === 1
        ? `event: ready\nid: 4\ndata: {"last_event_id":4}\n\nevent: interaction\nid: 6\ndata: ${JSON.stringify({ change: 'created', interaction_id: 3, interaction })}\n\n`
        : 'event: ready\nid: 6\ndata: {"last_event_id":6}\n\n';
      return new Response(streamOf(body, sent.length > 1), { status: 200, headers: { 'Content-Type': 'text/event-stream' } });
    });
    const statuses: string[] = [];
    const changes: number[] = [];
    const stop = connectLive({
      onInteraction: (e) => changes.push(e.interaction_id),
      onNotification: () => {},
      onReset: () => {},
      onStatus: (s) => statuses.push(s),
    });
    await vi.waitFor(() => expect(sent).toHaveLength(2), { timeout: 3000 });
    expect(sent).toEqual([null, '6']);
    expect(changes).toEqual([3]);
    expect(statuses).toEqual(['connecting', 'live', 'offline', 'connecting', 'live']);
    stop();
    vi.useRealTimers();
  });

  it('asks for a refetch on reset and keeps going from its id; a bad event is skipped', async () => {
    const sent: (string | null)[] = [];
    vi.spyOn(globalThis, 'fetch').mockImplementation(async (_input, init) => {
      sent.push(new Headers(init?.headers).get('Last-Event-ID'));
      return new Response(
        streamOf('event: reset\nid: 40\ndata: {}\n\nevent: interaction\nid: 41\ndata: {"nonsense":true}\n\n', true),
        { status: 200 },
      );
    });
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    let resets = 0;
    const stop = connectLive({
      onInteraction: () => { throw new Error('not an interaction'); },
      onNotification: () => {},
      onReset: () => { resets += 1; },
      onStatus: () => {},
    });
    await vi.waitFor(() => expect(resets).toBe(1));
    await vi.waitFor(() => expect(console.warn).toHaveBeenCalled());
    stop();
    expect(sent).toEqual([null]);
  });

  it('takes an item that left the scope as gone', async () => {
    vi.spyOn(globalThis, 'fetch').mockImplementation(async () =>
      new Response(streamOf('event: removed\nid: 8\ndata: {"type":"removed","id":12}\n\n', true), { status: 200 }),
    );
    const seen: { change: string; id: number; item: unknown }[] = [];
    const stop = connectLive({
      onInteraction: (e) => seen.push({ change: e.change, id: e.interaction_id, item: e.interaction }),
      onNotification: () => {},
      onReset: () => {},
      onStatus: () => {},
    });
    await vi.waitFor(() => expect(seen).toEqual([{ change: 'deleted', id: 12, item: null }]));
    stop();
  });
});
