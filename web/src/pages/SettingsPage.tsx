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

/** The email notification preferences (`PATCH /api/v1/me/preferences`). */
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
          {message && (
            <p role={message.ok ? 'status' : 'alert'} className={message.ok ? 'ok' : 'error'}>{message.text}</p>
          )}
        </form>
      )}
    </section>
  );
}
