import { useState } from 'preact/hooks';
import { all, del, post } from '../api';
import { dateTime } from '../format';
import { t } from '../i18n';
import { Alert, Card, Loading, Zone, useAction, useLoad } from '../ui';
import type { ApiKey } from '../types';

export function KeysPage() {
  const list = useLoad(() => all<ApiKey>('/api-keys'), []);
  const action = useAction();
  const [name, setName] = useState('');
  const [secret, setSecret] = useState<{ name: string; key: string } | null>(null);
  const [copied, setCopied] = useState(false);

  const create = async (e: Event) => {
    e.preventDefault();
    await action.run(async () => {
      const k = await post<{ id: string; name: string; key: string }>('/api-keys', { name: name.trim() });
      setSecret({ name: k.name, key: k.key });
      setCopied(false);
      setName('');
      list.reload();
    });
  };
  const copy = async () => {
    if (!secret) return;
    try {
      await navigator.clipboard.writeText(secret.key);
      setCopied(true);
    } catch {
      // No clipboard permission: select the text so Ctrl+C copies it.
      const el = document.getElementById('secret');
      if (el) getSelection()?.selectAllChildren(el);
    }
  };
  const revoke = async (k: ApiKey) => {
    if (await action.run(() => del(`/api-keys/${k.id}`), `${k.name}: ${t('Revoked')}`)) list.reload();
  };

  return (
    <>
      <div class="pagehead">
        <h1>{t('API keys')}</h1>
        <Zone zone="Asia/Shanghai" />
      </div>
      <Alert error={action.error} done={action.done} />
      <form class="card form" onSubmit={create} aria-labelledby="newkey-h">
        <h2 id="newkey-h">{t('New API key')}</h2>
        <div class="row">
          <label class="grow">
            {t('Name')}
            <input required maxLength={100} value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </label>
          <button type="submit" class="primary" disabled={action.busy}>
            {t('Create')}
          </button>
        </div>
        {secret && (
          <div class="secret" role="status">
            <p>
              <strong>{secret.name}</strong> — {t('This is the only time the key is shown. Store it now.')}
            </p>
            <div class="row">
              <code id="secret" class="grow">
                {secret.key}
              </code>
              <button type="button" class="secondary" onClick={copy}>
                {copied ? t('Copied') : t('Copy')}
              </button>
            </div>
          </div>
        )}
      </form>
      <Card>
        {!list.data ? (
          <Loading error={list.error} />
        ) : (
          <table class="grid" aria-label={t('API keys')}>
            <thead>
              <tr>
                <th scope="col">{t('Name')}</th>
                <th scope="col">{t('Created')}</th>
                <th scope="col">{t('Status')}</th>
                <th scope="col">
                  <span class="sr-only">{t('Actions')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.data.map((k) => (
                <tr>
                  <td class="strong">{k.name}</td>
                  <td class="nowrap muted">{dateTime(k.created_at)}</td>
                  <td>{k.revoked_at ? `${t('Revoked')} ${dateTime(k.revoked_at)}` : t('Active')}</td>
                  <td class="actions">
                    {!k.revoked_at && (
                      <button type="button" class="danger small" aria-label={`${t('Revoke')} ${k.name}`} disabled={action.busy} onClick={() => revoke(k)}>
                        {t('Revoke')}
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
