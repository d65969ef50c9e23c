import { useState } from 'preact/hooks';
import { all, post, query } from '../api';
import { duration, dateTime } from '../format';
import { t } from '../i18n';
import { brandMap, seasonList } from '../lookups';
import { Link, navigate } from '../router';
import { Alert, Badge, Card, Loading, useAction, useLoad } from '../ui';
import type { Application, QueueItem } from '../types';

export function QueuePage() {
  const [seasonId, setSeasonId] = useState('');
  const action = useAction();
  const seasons = useLoad(seasonList, []);
  const brands = useLoad(brandMap, []);
  const queue = useLoad(() => all<QueueItem>(`/review/queue${query({ season_id: seasonId })}`), [seasonId]);
  const mine = useLoad(() => all<Application>(`/applications${query({ status: 'in_review', season_id: seasonId })}`), [seasonId]);

  const seasonOf = (id: string) => seasons.data?.find((s) => s.id === id);
  const brandName = (id: string) => brands.data?.get(id)?.name ?? '…';

  const claim = async (item: QueueItem) => {
    const ok = await action.run(() => post(`/applications/${item.id}/claim`));
    if (ok) navigate(`/applications/${item.id}`);
    else queue.reload();
  };

  return (
    <>
      <div class="pagehead">
        <h1>{t('Review queue')}</h1>
        <label class="inline">
          {t('Season')}
          <select value={seasonId} onChange={(e) => setSeasonId(e.currentTarget.value)}>
            <option value="">{t('All seasons')}</option>
            {seasons.data?.map((s) => (
              <option value={s.id}>{s.name}</option>
            ))}
          </select>
        </label>
      </div>
      <Alert error={action.error} />
      <Card>
        {!queue.data ? (
          <Loading error={queue.error} />
        ) : queue.data.length === 0 ? (
          <p class="empty">{t('Nothing is waiting for review.')}</p>
        ) : (
          <table class="grid" aria-label={t('Review queue')}>
            <thead>
              <tr>
                <th scope="col">{t('Waiting')}</th>
                <th scope="col">{t('Brand')}</th>
                <th scope="col">{t('Season')}</th>
                <th scope="col">{t('Title')}</th>
                <th scope="col">{t('Submitted')}</th>
                <th scope="col">
                  <span class="sr-only">{t('Actions')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {queue.data.map((item) => {
                const s = seasonOf(item.season_id);
                return (
                  <tr class={item.appeal ? 'appeal' : ''} data-id={item.id}>
                    <td class="num">
                      {item.appeal && <Badge value="Appeal" extra="appeal" />} {duration(item.waiting_seconds)}
                    </td>
                    <td>{brandName(item.brand_id)}</td>
                    <td>{s?.code ?? '…'}</td>
                    <td>
                      <Link to={`/applications/${item.id}`}>{item.title}</Link>
                    </td>
                    <td class="muted">
                      {dateTime(item.submitted_at, s?.timezone)} <span class="tz">{s?.timezone}</span>
                    </td>
                    <td class="actions">
                      <button type="button" class="primary small" disabled={action.busy} onClick={() => claim(item)}>
                        {t('Claim')}
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </Card>
      <Card title={t('In review')} id="inreview">
        {!mine.data ? (
          <Loading error={mine.error} />
        ) : mine.data.length === 0 ? (
          <p class="empty">—</p>
        ) : (
          <table class="grid" aria-label={t('In review')}>
            <thead>
              <tr>
                <th scope="col">{t('Brand')}</th>
                <th scope="col">{t('Season')}</th>
                <th scope="col">{t('Title')}</th>
                <th scope="col">{t('Status')}</th>
              </tr>
            </thead>
            <tbody>
              {mine.data.map((a) => (
                <tr>
                  <td>{brandName(a.brand_id)}</td>
                  <td>{seasonOf(a.season_id)?.code ?? '…'}</td>
                  <td>
                    <Link to={`/applications/${a.id}`}>{a.title}</Link>
                  </td>
                  <td>
                    <Badge value={a.status} />
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
