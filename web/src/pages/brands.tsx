import { useState } from 'preact/hooks';
import { all, post } from '../api';
import { dateTime } from '../format';
import { label, t } from '../i18n';
import { forget } from '../lookups';
import { Alert, Badge, Card, Loading, Zone, useAction, useLoad } from '../ui';
import type { Brand } from '../types';

export function BrandsPage() {
  const list = useLoad(() => all<Brand>('/brands?verification=pending'), []);
  const action = useAction();
  const [notes, setNotes] = useState<Record<string, string>>({});

  const decide = async (b: Brand, decision: 'verified' | 'rejected') => {
    const ok = await action.run(
      () => post(`/brands/${b.id}/verification`, { decision, note: notes[b.id]?.trim() || undefined }),
      `${b.name}: ${label(decision)}`,
    );
    if (ok) {
      forget();
      list.reload();
    }
  };

  return (
    <>
      <div class="pagehead">
        <h1>{t('Brands to verify')}</h1>
        <Zone zone="Asia/Shanghai" />
      </div>
      <Alert error={action.error} done={action.done} />
      <Card>
        {!list.data ? (
          <Loading error={list.error} />
        ) : list.data.length === 0 ? (
          <p class="empty">{t('No brand is waiting for verification.')}</p>
        ) : (
          <table class="grid" aria-label={t('Brands to verify')}>
            <thead>
              <tr>
                <th scope="col">{t('Brand')}</th>
                <th scope="col">{t('Kind')}</th>
                <th scope="col">{t('Tmall store')}</th>
                <th scope="col">{t('Created')}</th>
                <th scope="col">{t('Note')}</th>
                <th scope="col">
                  <span class="sr-only">{t('Actions')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.data.map((b) => (
                <tr data-id={b.id}>
                  <td class="strong">{b.name}</td>
                  <td>
                    <Badge value={b.kind} />
                  </td>
                  <td>
                    <a href={b.tmall_store_url} target="_blank" rel="noopener noreferrer">
                      {b.tmall_store_url}
                    </a>
                  </td>
                  <td class="nowrap muted">{dateTime(b.created_at)}</td>
                  <td>
                    <input
                      type="text"
                      aria-label={`${t('Note')}: ${b.name}`}
                      value={notes[b.id] ?? ''}
                      onInput={(e) => setNotes({ ...notes, [b.id]: e.currentTarget.value })}
                    />
                  </td>
                  <td class="actions">
                    <button type="button" class="approve small" disabled={action.busy} onClick={() => decide(b, 'verified')}>
                      {t('Verify')}
                    </button>
                    <button type="button" class="danger small" disabled={action.busy} onClick={() => decide(b, 'rejected')}>
                      {t('Reject')}
                    </button>
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
