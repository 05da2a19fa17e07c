import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';

import { api, session } from '../api';
import { currentPage, signIn } from '../auth';

const DEMO_USERS = [
  { id: 1, name: 'Camille Martin' },
  { id: 2, name: 'Hugo Bernard' },
  { id: 3, name: 'Léa Petit' },
];

/** Sign-in with the company's provider when the server has one; demo users through dev-login
 * where the server allows it (development). */
export function Login({ onSignedIn }: { onSignedIn: () => void }) {
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
        ? 'La connexion de démonstration est désactivée sur ce serveur.'
        : `Connexion impossible : ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  const oidc = config.data?.oidc;
  return (
    <main className="login">
      <h1>Relance</h1>
      {oidc && (
        <p>
          <button
            type="button"
            onClick={() => signIn(oidc, currentPage()).catch((e) => setError(`Connexion impossible : ${String(e)}`))}
          >
            Se connecter avec le compte de l&apos;entreprise
          </button>
        </p>
      )}
      {(config.data?.dev_login ?? !config.data) && (
        <>
          <p>Choisissez un utilisateur de démonstration :</p>
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
        <p role="alert" className="error">Aucun moyen de connexion n&apos;est configuré sur ce serveur.</p>
      )}
      {error && <p role="alert" className="error">{error}</p>}
    </main>
  );
}
