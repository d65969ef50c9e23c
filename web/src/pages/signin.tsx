import { useState } from 'preact/hooks';
import { Problem, type Session, call, setSession, takeExpiredNotice } from '../api';
import { lang, setLang, t } from '../i18n';
import { Alert } from '../ui';

export function SignIn() {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [notice] = useState(() => (takeExpiredNotice() ? t('Your session has expired. Please sign in again.') : null));

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { data } = await call<Session>('POST', '/auth/login', { body: { email, password } });
      if (data.user.role === 'marketer') {
        // End the session we were just given: this console has nothing for a marketer.
        await fetch('/v1/auth/logout', {
          method: 'POST',
          headers: { Authorization: `Bearer ${data.token}`, 'Idempotency-Key': crypto.randomUUID() },
        }).catch(() => undefined);
        setError(
          t('This console is for platform staff (reviewers and administrators). Brand marketers use the brand tools.'),
        );
        setPassword('');
        return;
      }
      setSession(data);
    } catch (err) {
      setError(err instanceof Problem ? err.detail : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" class="signin">
      <form class="card signin-card" onSubmit={submit} aria-labelledby="signin-h">
        <div class="brandmark big">
          <span class="logo" aria-hidden="true">
            MG
          </span>
          <div>
            <h1 id="signin-h">{t('Review console')}</h1>
            <p class="muted">{t('For platform reviewers and administrators.')}</p>
          </div>
        </div>
        {notice && !error && (
          <div class="alert warn" role="status">
            {notice}
          </div>
        )}
        <Alert error={error} />
        <label>
          {t('Email')}
          <input
            type="email"
            name="email"
            autoComplete="username"
            required
            value={email}
            onInput={(e) => setEmail(e.currentTarget.value)}
          />
        </label>
        <label>
          {t('Password')}
          <input
            type="password"
            name="password"
            autoComplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        <button type="submit" class="primary" disabled={busy}>
          {busy ? t('Signing in…') : t('Sign in')}
        </button>
        <button type="button" class="ghost lang" onClick={() => setLang(lang() === 'zh' ? 'en' : 'zh')}>
          {lang() === 'zh' ? 'English' : '中文'}
        </button>
      </form>
    </main>
  );
}
