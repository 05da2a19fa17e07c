import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';

import { api, session } from '../api';
import { currentPage, signIn } from '../auth';
import { fr } from '../fr';

const DEMO_USERS = [
  { id: 1, name: 'Camille Martin' },
  { id: 2, name: 'Hugo Bernard' },
  { id: 3, name: 'Léa Petit' },
];

/** Sign-in with the company's provider when the server has one; demo users through dev-login
 * where the server allows it (development). `expired`: the session ended under the user. */
export function Login({ onSignedIn, expired }: { onSignedIn: () => void; expired: boolean }) {
  const [error, setError] = useState<string | null>(null);
  const config = useQuery({ queryKey: ['auth-config'], queryFn: api.authConfig, staleTime: Infinity });
  const devSignIn = async (id: number) => {
    setError(null);
    try {
      const token = await api.devLogin(id);
      session.save(token.token);
      onSignedIn();
    } catch (e) {
      setError(e instanceof Error && 'status' in e && e.status === 404
        ? fr.login.devOff
        : `${fr.login.failed} : ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  const oidc = config.data?.oidc;
  return (
    <main className="login">
      <h1>{fr.app}</h1>
      {expired && <p role="status" className="notice">{fr.login.expired}</p>}
      {oidc && (
        <p>
          <button
            type="button"
            onClick={() => signIn(oidc, currentPage()).catch((e) => setError(`${fr.login.failed} : ${String(e)}`))}
          >
            {fr.login.company}
          </button>
        </p>
      )}
      {(config.data?.dev_login ?? !config.data) && (
        <>
          <p>{fr.login.demo}</p>
          <ul className="users">
            {DEMO_USERS.map((u) => (
              <li key={u.id}>
                <button type="button" onClick={() => devSignIn(u.id)}>{u.name}</button>
              </li>
            ))}
          </ul>
        </>
      )}
      {config.isSuccess && !oidc && !config.data.dev_login && (
        <p role="alert" className="error">{fr.login.none}</p>
      )}
      {error && <p role="alert" className="error">{error}</p>}
    </main>
  );
}
