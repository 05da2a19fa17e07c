import { describe, expect, it } from 'vitest';

import { parseSse } from './live';

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
