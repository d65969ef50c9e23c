import { useState } from 'preact/hooks';
import { all, currentSession, post } from '../api';
import { dateTime } from '../format';
import { label, t } from '../i18n';
import { Alert, Badge, Card, Loading, Zone, useAction, useLoad } from '../ui';
import type { User } from '../api';

export function UsersPage() {
  const list = useLoad(() => all<User>('/users'), []);
  const action = useAction();
  const [form, setForm] = useState({ email: '', display_name: '', password: '', role: 'reviewer' });

  const create = async (e: Event) => {
    e.preventDefault();
    const ok = await action.run(() => post('/users', form), `${form.email}: ${t('Created')}`);
    if (ok) {
      setForm({ email: '', display_name: '', password: '', role: 'reviewer' });
      list.reload();
    }
  };
  const disable = async (u: User) => {
    if (await action.run(() => post(`/users/${u.id}/disable`), `${u.email}: ${t('Disabled')}`)) list.reload();
  };

  return (
    <>
      <div class="pagehead">
        <h1>{t('Users')}</h1>
        <Zone zone="Asia/Shanghai" />
      </div>
      <Alert error={action.error} done={action.done} />
      <form class="card form" onSubmit={create} aria-labelledby="newuser-h">
        <h2 id="newuser-h">{t('New user')}</h2>
        <div class="formgrid four">
          <label>
            {t('Email')}
            <input type="email" required value={form.email} onInput={(e) => setForm({ ...form, email: e.currentTarget.value })} />
          </label>
          <label>
            {t('Display name')}
            <input required value={form.display_name} onInput={(e) => setForm({ ...form, display_name: e.currentTarget.value })} />
          </label>
          <label>
            {t('Password')}
            <input type="password" autoComplete="new-password" required minLength={12} value={form.password} onInput={(e) => setForm({ ...form, password: e.currentTarget.value })} />
          </label>
          <label>
            {t('Role')}
            <select value={form.role} onChange={(e) => setForm({ ...form, role: e.currentTarget.value })}>
              <option value="reviewer">{label('reviewer')}</option>
              <option value="admin">{label('admin')}</option>
            </select>
          </label>
        </div>
        <div class="buttons">
          <button type="submit" class="primary" disabled={action.busy}>
            {t('Create')}
          </button>
        </div>
      </form>
      <Card>
        {!list.data ? (
          <Loading error={list.error} />
        ) : (
          <table class="grid" aria-label={t('Users')}>
            <thead>
              <tr>
                <th scope="col">{t('Display name')}</th>
                <th scope="col">{t('Email')}</th>
                <th scope="col">{t('Role')}</th>
                <th scope="col">{t('Status')}</th>
                <th scope="col">{t('Created')}</th>
                <th scope="col">
                  <span class="sr-only">{t('Actions')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.data.map((u) => (
                <tr data-id={u.id}>
                  <td class="strong">{u.display_name}</td>
                  <td>{u.email}</td>
                  <td>
                    <Badge value={u.role} />
                  </td>
                  <td>{u.disabled ? <Badge value="revoked" extra="plain" /> : t('Active')}</td>
                  <td class="nowrap muted">{dateTime(u.created_at)}</td>
                  <td class="actions">
                    {!u.disabled && u.id !== currentSession()?.user.id && (
                      <button type="button" class="danger small" aria-label={`${t('Disable')} ${u.email}`} disabled={action.busy} onClick={() => disable(u)}>
                        {t('Disable')}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
    </>
  );
}
