import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';

import { api, session } from './api';
import { Dashboard } from './pages/Dashboard';
import { Inbox } from './pages/Inbox';
import { Login } from './pages/Login';
import { navigate, useLocation } from './router';

function Link({ to, children, current }: { to: string; children: React.ReactNode; current: boolean }) {
  return (
    <a
      href={to}
      aria-current={current ? 'page' : undefined}
      onClick={(e) => {
        e.preventDefault();
        navigate(to);
      }}
    >
      {children}
    </a>
  );
}

export function App() {
  const { path } = useLocation();
  const queryClient = useQueryClient();
  const me = useQuery({ queryKey: ['me', session.token()], queryFn: api.me, enabled: !!session.token(), retry: false });

  useEffect(() => {
    if (path === '/' || path === '') navigate('/dashboard', true);
  }, [path]);

  if (!session.token() || me.isError || path === '/login') {
    return <Login onSignedIn={() => { queryClient.clear(); navigate('/dashboard'); }} />;
  }
  return (
    <div className="layout">
      <nav className="sidebar" aria-label="Navigation principale">
        <p className="brand">Relance</p>
        <Link to="/dashboard" current={path === '/dashboard'}>Tableau de bord</Link>
        <Link to="/dashboard/inbox" current={path === '/dashboard/inbox'}>Boîte de réception</Link>
        <p className="who">{me.data ? me.data.full_name : '…'}</p>
        <button type="button" className="link" onClick={() => { session.clear(); queryClient.clear(); navigate('/login'); }}>
          Se déconnecter
        </button>
      </nav>
      <main className="content">{path === '/dashboard/inbox' ? <Inbox /> : <Dashboard />}</main>
    </div>
  );
}
