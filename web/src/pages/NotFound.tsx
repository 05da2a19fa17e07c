import { Link } from 'react-router';

import { fr } from '../fr';

export function NotFound({ message = fr.notFound.body }: { message?: string }) {
  return (
    <section aria-labelledby="not-found-title">
      <h1 id="not-found-title">{fr.notFound.title}</h1>
      <p>{message}</p>
      <Link to="/dashboard">{fr.notFound.back}</Link>
    </section>
  );
}
