import { useState } from 'preact/hooks';
import { all, download, get, post } from '../api';
import { dateTime, duration } from '../format';
import { label, t } from '../i18n';
import { brandMap, season as loadSeason } from '../lookups';
import { Link } from '../router';
import { Alert, Badge, Card, Loading, Zone, useAction, useLoad } from '../ui';
import type { Summary, WhitelistEntry } from '../types';

const COLORS: Record<string, string> = {
  draft: '#9aa4b2',
  submitted: '#3b82f6',
  in_review: '#6366f1',
  changes_requested: '#f59e0b',
  approved: '#16a34a',
  rejected: '#dc2626',
  withdrawn: '#64748b',
  active: '#16a34a',
  suspended: '#f59e0b',
  revoked: '#dc2626',
  scheduled: '#3b82f6',
  live: '#16a34a',
  paused: '#f59e0b',
  halted: '#dc2626',
  ended: '#64748b',
};

/** Counts by status as horizontal bars (plain SVG: no chart library, no CDN). */
function Bars(props: { title: string; counts: Record<string, number> }) {
  const rows = Object.entries(props.counts);
  const max = Math.max(1, ...rows.map(([, n]) => n));
  const h = 26;
  const total = rows.reduce((a, [, n]) => a + n, 0);
  return (
    <figure class="chart">
      <figcaption>
        {props.title} <span class="muted">· {total}</span>
      </figcaption>
      <svg viewBox={`0 0 400 ${rows.length * h}`} role="img" aria-label={`${props.title}: ${rows.map(([k, n]) => `${label(k)} ${n}`).join(', ')}`}>
        {rows.map(([k, n], i) => (
          <g>
            <text x="0" y={i * h + 17} class="bar-label">
              {label(k)}
            </text>
            <rect x="130" y={i * h + 5} width={240} height="16" rx="3" class="bar-track" />
            <rect x="130" y={i * h + 5} width={Math.max(n ? 3 : 0, (n / max) * 240)} height="16" rx="3" fill={COLORS[k] ?? '#3b82f6'} />
            <text x="396" y={i * h + 17} class="bar-value" text-anchor="end">
              {n}
            </text>
          </g>
        ))}
      </svg>
    </figure>
  );
}

export function SeasonPage(props: { id: string }) {
  const season = useLoad(() => loadSeason(props.id), [props.id]);
  const summary = useLoad(() => get<Summary>(`/dashboard/summary?season_id=${props.id}`), [props.id]);
  const list = useLoad(() => all<WhitelistEntry>(`/whitelist?season_id=${props.id}`), [props.id]);
  const brands = useLoad(brandMap, []);
  const action = useAction();
  const [reasons, setReasons] = useState<Record<string, string>>({});

  if (!season.data) return <Loading error={season.error} />;
  const s = season.data;
  const zone = s.timezone;

  const act = async (e: WhitelistEntry, verb: 'suspend' | 'reinstate' | 'revoke', label: string) => {
    const name = brands.data?.get(e.brand_id)?.name ?? e.brand_id;
    const ok = await action.run(() => post(`/whitelist/${e.id}/${verb}`, { reason: reasons[e.id]?.trim() ?? '' }), `${name}: ${label}`);
    if (ok) {
      setReasons({ ...reasons, [e.id]: '' });
      list.reload();
      summary.reload();
    }
  };
  const csv = () => action.run(() => download(`/whitelist?season_id=${s.id}`, 'text/csv', `whitelist-${s.code}.csv`));

  const r = summary.data?.review;
  return (
    <>
      <div class="pagehead">
        <div>
          <p class="crumb">
            <Link to="/seasons">← {t('Seasons')}</Link>
          </p>
          <h1>
            {s.name} <Badge value={s.state} />
          </h1>
          <p class="muted">
            {s.code} · {dateTime(s.starts_at, zone)} – {dateTime(s.ends_at, zone)} · <Zone zone={zone} />
          </p>
        </div>
      </div>
      <Alert error={action.error} done={action.done} />
      <Card title={t('Review figures')} id="figures">
        {!r ? (
          <Loading error={summary.error} />
        ) : (
          <div class="stats">
            <div class="stat">
              <div class="stat-value">{r.pending}</div>
              <div class="stat-label">{t('Pending')}</div>
            </div>
            <div class="stat">
              <div class="stat-value">{duration(r.oldest_pending_seconds)}</div>
              <div class="stat-label">{t('Oldest waiting')}</div>
            </div>
            <div class="stat">
              <div class="stat-value">{duration(r.median_decision_seconds)}</div>
              <div class="stat-label">{t('Median decision time')}</div>
            </div>
            <div class="stat">
              <div class="stat-value">{duration(r.p90_decision_seconds)}</div>
              <div class="stat-label">{t('p90 decision time')}</div>
            </div>
            <div class="stat">
              <div class="stat-value">{r.approval_rate === null ? '—' : `${Math.round(r.approval_rate * 100)}%`}</div>
              <div class="stat-label">{t('Approval rate')}</div>
            </div>
          </div>
        )}
      </Card>
      <Card title={t('Dashboard')} id="dashboard">
        {summary.data ? (
          <div class="charts">
            <Bars title={t('Applications')} counts={summary.data.applications} />
            <Bars title={t('Whitelist')} counts={summary.data.whitelist} />
            <Bars title={t('Campaigns')} counts={summary.data.campaigns} />
          </div>
        ) : (
          <Loading error={summary.error} />
        )}
      </Card>
      <Card
        title={
          <span class="titlebar">
            {t('Whitelist of this season')}
            <button type="button" class="secondary small" onClick={csv}>
              {t('Download CSV')}
            </button>
          </span>
        }
        id="whitelist"
      >
        {!list.data ? (
          <Loading error={list.error} />
        ) : list.data.length === 0 ? (
          <p class="empty">{t('No whitelist entries yet.')}</p>
        ) : (
          <table class="grid" aria-label={t('Whitelist')}>
            <thead>
              <tr>
                <th scope="col">{t('Brand')}</th>
                <th scope="col">{t('Status')}</th>
                <th scope="col">{t('Valid from')}</th>
                <th scope="col">{t('Valid until')}</th>
                <th scope="col">{t('Reason')}</th>
                <th scope="col">
                  <span class="sr-only">{t('Actions')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.data.map((e) => {
                const name = brands.data?.get(e.brand_id)?.name ?? '…';
                return (
                  <tr data-id={e.id}>
                    <td class="strong">{name}</td>
                    <td>
                      <Badge value={e.status} />
                      {e.status_reason && <div class="muted small-text">{e.status_reason}</div>}
                    </td>
                    <td class="nowrap">{dateTime(e.valid_from, zone)}</td>
                    <td class="nowrap">{dateTime(e.valid_until, zone)}</td>
                    <td>
                      {e.status !== 'revoked' && (
                        <input
                          type="text"
                          aria-label={`${t('Reason')}: ${name}`}
                          value={reasons[e.id] ?? ''}
                          onInput={(ev) => setReasons({ ...reasons, [e.id]: ev.currentTarget.value })}
                        />
                      )}
                    </td>
                    <td class="actions">
                      {e.status === 'active' && (
                        <button type="button" class="warn small" disabled={action.busy} onClick={() => act(e, 'suspend', label('suspended'))}>
                          {t('Suspend')}
                        </button>
                      )}
                      {e.status === 'suspended' && (
                        <button type="button" class="approve small" disabled={action.busy} onClick={() => act(e, 'reinstate', label('active'))}>
                          {t('Reinstate')}
                        </button>
                      )}
                      {e.status !== 'revoked' && (
                        <button type="button" class="danger small" disabled={action.busy} onClick={() => act(e, 'revoke', label('revoked'))}>
                          {t('Revoke')}
                        </button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </Card>
    </>
  );
}
