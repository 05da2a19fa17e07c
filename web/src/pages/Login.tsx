import { useState } from 'react';

import { api, session } from '../api';

const DEMO_USERS = [
  { id: 1, name: 'Camille Martin' },
  { id: 2, name: 'Hugo Bernard' },
  { id: 3, name: 'Léa Petit' },
];

/** Picks a demo user through dev-login (only where the server allows it). */
export function Login({ onSignedIn }: { onSignedIn: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const signIn = async (id: number) => {
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
  return (
    <main className="login">
      <h1>Relance</h1>
      <p>Choisissez un utilisateur de démonstration :</p>
      <ul className="users">
        {DEMO_USERS.map((u) => (
          <li key={u.id}>
            <button type="button" onClick={() => signIn(u.id)}>{u.name}</button>
          </li>
        ))}
      </ul>
      {error && <p role="alert" className="error">{error}</p>}
    </main>
  );
}
