import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';

import { api, NotifyEmail, session, type Preferences } from '../api';
import { ErrorBox } from '../components/ErrorBox';
import { fr } from '../fr';
import { useSetPreferences } from '../hooks';

const ZONES: string[] = (() => {
  const supported = (Intl as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf;
  return supported ? supported('timeZone') : ['Europe/Paris', 'UTC'];
})();

/** `2026-12-08T13:00:00Z` as a `datetime-local` input shows it, in the browser's zone. */
function localInput(iso: string): string {
  const at = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}T${pad(at.getHours())}:${pad(at.getMinutes())}`;
}

/** The email notification preferences and the availability (`PATCH /api/v1/me/preferences`). */
export function SettingsPage() {
  const me = useQuery({ queryKey: ['me', session.token()], queryFn: api.me, retry: false });
  const save = useSetPreferences();
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  // Shown at once, from local state (a controlled radio would otherwise snap back until the
  // refetch); a refusal drops the local change and shows what the server kept.
  const [local, setLocal] = useState<Partial<Preferences>>({});
  const change = (c: Partial<Preferences>) => {
    setLocal((l) => ({ ...l, ...c }));
    save.mutate(c, {
      onSuccess: () => setMessage({ ok: true, text: fr.common.saved }),
      onError: (e) => {
        setLocal({});
        setMessage({ ok: false, text: `${fr.errors.refused} : ${e instanceof Error ? e.message : String(e)}` });
      },
    });
  };
  const prefs = me.data && { ...me.data.preferences, ...local };
  const zones = prefs && !ZONES.includes(prefs.timezone) ? [prefs.timezone, ...ZONES] : ZONES;
  return (
    <section aria-labelledby="settings-title">
      <h1 id="settings-title">{fr.settings.title}</h1>
      {me.isError && <ErrorBox what={fr.errors.load} error={me.error} onRetry={() => me.refetch()} />}
      {prefs && (
        <form className="form panel" onSubmit={(e) => e.preventDefault()}>
          <fieldset>
            <legend>{fr.settings.email}</legend>
            {NotifyEmail.options.map((mode) => (
              <label key={mode} className="inline">
                <input
                  type="radio"
                  name="notify_email"
                  value={mode}
                  checked={prefs.notify_email === mode}
                  onChange={() => change({ notify_email: mode })}
                />{' '}
                {fr.settings[mode]}
              </label>
            ))}
          </fieldset>
          <label>
            {fr.settings.timezone}
            <select value={prefs.timezone} onChange={(e) => change({ timezone: e.target.value })}>
              {zones.map((z) => <option key={z} value={z}>{z}</option>)}
            </select>
          </label>
          <label>
            {fr.settings.digestHour}
            <select
              value={prefs.digest_hour}
              disabled={prefs.notify_email !== 'daily'}
              onChange={(e) => change({ digest_hour: Number(e.target.value) })}
            >
              {Array.from({ length: 24 }, (_, h) => <option key={h} value={h}>{fr.settings.hour(h)}</option>)}
            </select>
          </label>
          <fieldset>
            <legend>{fr.settings.availability}</legend>
            <p className="muted">{fr.settings.availabilityHelp}</p>
            <label>
              {fr.settings.awayUntil}
              <input
                type="datetime-local"
                value={prefs.away_until ? localInput(prefs.away_until) : ''}
                onChange={(e) => change({ away_until: e.target.value ? new Date(e.target.value).toISOString() : null })}
              />
            </label>
            {prefs.away_until && (
              <button type="button" onClick={() => change({ away_until: null })}>{fr.settings.back}</button>
            )}
            <div role="group" aria-label={fr.settings.workDays}>
              <span>{fr.settings.workDays}</span>
              {fr.settings.days.map((name, i) => {
                const day = i + 1;
                const days = prefs.work_days ?? [1, 2, 3, 4, 5];
                const on = days.includes(day);
                return (
                  <label key={day} className="inline">
                    <input
                      type="checkbox"
                      checked={on}
                      disabled={on && days.length === 1}
                      onChange={() => change({ work_days: on ? days.filter((d) => d !== day) : [...days, day].sort() })}
                    />{' '}
                    {name}
                  </label>
                );
              })}
            </div>
            <label>
              {fr.settings.workStart}
              <input
                type="time"
                value={prefs.work_start ?? '09:00'}
                onChange={(e) => e.target.value && change({ work_start: e.target.value.slice(0, 5) })}
              />
            </label>
            <label>
              {fr.settings.workEnd}
              <input
                type="time"
                value={prefs.work_end ?? '18:00'}
                onChange={(e) => e.target.value && change({ work_end: e.target.value.slice(0, 5) })}
              />
            </label>
          </fieldset>
          {message && (
            <p role={message.ok ? 'status' : 'alert'} className={message.ok ? 'ok' : 'error'}>{message.text}</p>
          )}
        </form>
      )}
    </section>
  );
}
