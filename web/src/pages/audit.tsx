import { useEffect, useState } from 'preact/hooks';
import { type Page, get, query } from '../api';
import { DEFAULT_ZONE, dateTime, zonedToIso } from '../format';
import { t } from '../i18n';
import { Alert, Card, Zone, useAction } from '../ui';
import type { AuditEvent } from '../types';

const TYPES = ['application', 'brand', 'season', 'whitelist_entry', 'campaign', 'user', 'api_key'];

export function AuditPage() {
  const [f, setF] = useState({ entity_type: '', entity_id: '', actor_id: '', since: '', until: '' });
  const [items, setItems] = useState<AuditEvent[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const action = useAction();

  const params = () => ({
    entity_type: f.entity_type,
    entity_id: f.entity_id.trim(),
    actor_id: f.actor_id.trim(),
    since: f.since ? zonedToIso(f.since, DEFAULT_ZONE) : '',
    until: f.until ? zonedToIso(f.until, DEFAULT_ZONE) : '',
  });
  const load = (more: boolean) =>
    action.run(async () => {
      const page = await get<Page<AuditEvent>>(`/audit${query({ ...params(), limit: '50', cursor: more ? cursor : '' })}`);
      setItems(more && items ? [...items, ...page.items] : page.items);
      setCursor(page.next_cursor);
    });
  useEffect(() => void load(false), []);

  const input = (k: keyof typeof f, label: string, type = 'text') => (
    <label>
      {t(label)}
      <input type={type} value={f[k]} onInput={(e) => setF({ ...f, [k]: e.currentTarget.value })} />
    </label>
  );

  return (
    <>
      <div class="pagehead">
        <h1>{t('Audit log')}</h1>
        <Zone zone={DEFAULT_ZONE} />
      </div>
      <form
        class="card form"
        aria-label={t('Filter')}
        onSubmit={(e) => {
          e.preventDefault();
          void load(false);
        }}
      >
        <div class="formgrid five">
          <label>
            {t('Entity type')}
            <select value={f.entity_type} onChange={(e) => setF({ ...f, entity_type: e.currentTarget.value })}>
              <option value="">{t('Any')}</option>
              {TYPES.map((x) => (
                <option value={x}>{x}</option>
              ))}
            </select>
          </label>
          {input('entity_id', 'Entity id')}
          {input('actor_id', 'Actor id')}
          {input('since', 'Since', 'datetime-local')}
          {input('until', 'Until', 'datetime-local')}
        </div>
        <div class="buttons">
          <button type="submit" class="primary" disabled={action.busy}>
            {t('Filter')}
          </button>
        </div>
      </form>
      <Alert error={action.error} />
      <Card>
        {items && items.length === 0 && <p class="empty">{t('No events.')}</p>}
        {items && items.length > 0 && (
          <table class="grid compact" aria-label={t('Audit log')}>
            <thead>
              <tr>
                <th scope="col">{t('Time')}</th>
                <th scope="col">{t('Actor')}</th>
                <th scope="col">{t('Entity')}</th>
                <th scope="col">{t('Action')}</th>
                <th scope="col">{t('Change')}</th>
                <th scope="col">{t('Note')}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((e) => (
                <tr>
                  <td class="nowrap">{dateTime(e.at)}</td>
                  <td class="nowrap">
                    {e.actor_role ? t(e.actor_role) : 'system'}{' '}
                    <button type="button" class="link id" title={e.actor_id ?? ''} aria-label={`${t('Actor id')} ${e.actor_id ?? ''}`} onClick={() => setF({ ...f, actor_id: e.actor_id ?? '' })}>
                      {e.actor_id?.slice(0, 8) ?? ''}
                    </button>
                  </td>
                  <td class="nowrap">
                    {e.entity_type}{' '}
                    <button type="button" class="link id" title={e.entity_id} aria-label={`${t('Entity id')} ${e.entity_id}`} onClick={() => setF({ ...f, entity_type: e.entity_type, entity_id: e.entity_id })}>
                      {e.entity_id.slice(0, 8)}
                    </button>
                  </td>
                  <td>{e.action}</td>
                  <td class="nowrap">{e.from_status || e.to_status ? `${e.from_status ?? '∅'} → ${e.to_status ?? '∅'}` : ''}</td>
                  <td>{e.note ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {cursor && (
          <button type="button" class="secondary" disabled={action.busy} onClick={() => load(true)}>
            {t('Load more')}
          </button>
        )}
      </Card>
    </>
  );
}
