import { useEffect, useState } from 'preact/hooks';
import { currentSession, onSessionChange, post, setSession } from './api';
import { label, lang, onLangChange, setLang, t } from './i18n';
import { forget } from './lookups';
import { Link, match, navigate, usePath } from './router';
import { SignIn } from './pages/signin';
import { QueuePage } from './pages/queue';
import { ApplicationPage } from './pages/application';
import { BrandsPage } from './pages/brands';
import { SeasonsPage, SeasonEditPage } from './pages/seasons';
import { SeasonPage } from './pages/season';
import { UsersPage } from './pages/users';
import { KeysPage } from './pages/keys';
import { AuditPage } from './pages/audit';

export function App() {
  const [session, setS] = useState(currentSession());
  const [, setLangTick] = useState(0);
  const p = usePath();
  useEffect(() => onSessionChange(() => setS(currentSession())), []);
  useEffect(() => onLangChange(() => setLangTick((n) => n + 1)), []);
  useEffect(() => {
    document.title = `${t('Review console')} · moments-gate`;
  });

  if (!session || session.user.role === 'marketer') return <SignIn />;
  const admin = session.user.role === 'admin';

  const signOut = async () => {
    try {
      await post('/auth/logout');
    } catch {
      /* the token may already be gone; sign out here all the same */
    }
    forget();
    setSession(null);
    navigate('/', true);
  };

  let page;
  let m;
  if (p === '/' || p === '/queue') page = <QueuePage />;
  else if ((m = match('/applications/:id', p))) page = <ApplicationPage id={m.id} />;
  else if (p === '/brands') page = <BrandsPage />;
  else if (p === '/seasons') page = <SeasonsPage admin={admin} />;
  else if (admin && p === '/seasons/new') page = <SeasonEditPage />;
  else if (admin && (m = match('/seasons/:id/edit', p))) page = <SeasonEditPage id={m.id} />;
  else if ((m = match('/seasons/:id', p))) page = <SeasonPage id={m.id} />;
  else if (admin && p === '/users') page = <UsersPage />;
  else if (admin && p === '/api-keys') page = <KeysPage />;
  else if (admin && p === '/audit') page = <AuditPage />;
  else
    page = (
      <section class="card">
        <h1>{t('Not found')}</h1>
        <p>{t('This page does not exist.')}</p>
      </section>
    );

  const nav: [string, string][] = [
    ['/queue', 'Queue'],
    ['/brands', 'Brands'],
    ['/seasons', 'Seasons'],
  ];
  if (admin) nav.push(['/users', 'Users'], ['/api-keys', 'API keys'], ['/audit', 'Audit log']);
  const active = (to: string) => p === to || (to === '/queue' && p === '/') || p.startsWith(to + '/');

  return (
    <>
      <a class="skip" href="#main">
        {t('Skip to content')}
      </a>
      <header class="top">
        <div class="brandmark">
          <span class="logo" aria-hidden="true">
            MG
          </span>
          <span>
            moments-gate <span class="muted">{t('Review console')}</span>
          </span>
        </div>
        <nav aria-label="Main">
          {nav.map(([to, label]) => (
            <Link to={to} class="navlink" aria-current={active(to) ? 'page' : undefined}>
              {t(label)}
            </Link>
          ))}
        </nav>
        <div class="who">
          <button
            type="button"
            class="ghost"
            aria-label={t('Language') + ': ' + (lang() === 'zh' ? 'English' : '中文')}
            onClick={() => setLang(lang() === 'zh' ? 'en' : 'zh')}
          >
            {lang() === 'zh' ? 'English' : '中文'}
          </button>
          <span class="user" title={session.user.email}>
            {session.user.display_name} <span class="muted">· {label(session.user.role)}</span>
          </span>
          <button type="button" class="ghost" onClick={signOut}>
            {t('Sign out')}
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </>
  );
}
