import { useState } from 'preact/hooks';
import { all, call, currentSession, get, post } from '../api';
import { date, dateTime, yuan } from '../format';
import { label, t } from '../i18n';
import { forget, season as loadSeason } from '../lookups';
import { Link } from '../router';
import { Alert, Badge, Card, Loading, Zone, useAction, useLoad } from '../ui';
import type { Application, AuditEvent, Brand, Creative, ReasonCode, Season } from '../types';

interface Loaded {
  app: Application;
  season: Season;
  brand: Brand;
  events: AuditEvent[];
}

async function loadAll(id: string): Promise<Loaded> {
  const { data: app } = await call<Application>('GET', `/applications/${id}`);
  const [season, brand, events] = await Promise.all([
    loadSeason(app.season_id),
    get<Brand>(`/brands/${app.brand_id}`),
    all<AuditEvent>(`/applications/${id}/events`),
  ]);
  return { app, season, brand, events };
}

export function ApplicationPage(props: { id: string }) {
  const { data, error, reload } = useLoad(() => loadAll(props.id), [props.id]);
  if (!data) return <Loading error={error} />;
  const { app, season, brand, events } = data;
  const zone = season.timezone;
  return (
    <>
      <div class="pagehead">
        <div>
          <p class="crumb">
            <Link to="/queue">← {t('Back to the queue')}</Link>
          </p>
          <h1>
            {app.title} <Badge value={app.status} /> {app.appeal && <Badge value="Appeal" extra="appeal" />}
          </h1>
          <p class="muted">
            {brand.name} · {season.name} · <Zone zone={zone} />
          </p>
        </div>
      </div>
      <div class="layout">
        <div class="col-main">
          <Decide app={app} onChange={reload} />
          <Card title={t('Requested window')} id="window">
            <WindowChart app={app} season={season} />
          </Card>
          <div class="two">
            <Card title={t('Landing')} id="landing">
              <dl class="facts wide">
                <dt>{t('Tmall app deep link')}</dt>
                <dd>
                  <code>{app.landing?.app_url ?? t('Not set')}</code>
                </dd>
                <dt>{t('Web fallback')}</dt>
                <dd>
                  {app.landing?.web_url?.startsWith('https://') ? (
                    <a href={app.landing.web_url} target="_blank" rel="noopener noreferrer">
                      {app.landing.web_url}
                    </a>
                  ) : (
                    t('Not set')
                  )}
                </dd>
              </dl>
            </Card>
            <Card title={t('Brand verification')} id="brand">
              <dl class="facts">
                <dt>{t('Brand')}</dt>
                <dd>{brand.name}</dd>
                <dt>{t('Kind')}</dt>
                <dd>{label(brand.kind)}</dd>
                <dt>{t('Status')}</dt>
                <dd>
                  <Badge value={brand.verification} />
                </dd>
                <dt>{t('Tmall store')}</dt>
                <dd>
                  <a href={brand.tmall_store_url} target="_blank" rel="noopener noreferrer">
                    {brand.tmall_store_url}
                  </a>
                </dd>
                {brand.verification_note && (
                  <>
                    <dt>{t('Note')}</dt>
                    <dd>{brand.verification_note}</dd>
                  </>
                )}
              </dl>
            </Card>
          </div>
          <Card title={t('Audit trail')} id="trail">
            <Trail events={events} zone={zone} />
          </Card>
        </div>
        <aside class="col-side">
          <h2 class="sidehead">{t('Ad preview')}</h2>
          <AdCard creative={app.creative ?? {}} brand={brand.name} />
            <Card title={t('Budget')} id="budget">
              <dl class="facts">
                <dt>{t('CPM bid')}</dt>
                <dd>{yuan(app.budget?.cpm_bid_fen)}</dd>
                <dt>{t('Daily cap')}</dt>
                <dd>{app.budget?.daily_cap_fen ? yuan(app.budget.daily_cap_fen) : '—'}</dd>
                <dt>{t('Total')}</dt>
                <dd class="strong">{yuan(app.budget?.total_fen)}</dd>
              </dl>
            </Card>
            <Card title={t('Targeting')} id="targeting">
              <dl class="facts">
                <dt>{t('Regions')}</dt>
                <dd>{app.targeting?.regions?.length ? app.targeting.regions.join(', ') : t('All')}</dd>
                <dt>{t('Ages')}</dt>
                <dd>
                  {app.targeting?.age_min ?? 18}–{app.targeting?.age_max ?? 65}
                </dd>
                <dt>{t('Genders')}</dt>
                <dd>{app.targeting?.genders?.length ? app.targeting.genders.map(label).join(', ') : t('All')}</dd>
                <dt>{t('Interests')}</dt>
                <dd>{app.targeting?.interests?.length ? app.targeting.interests.join(', ') : t('All')}</dd>
              </dl>
            </Card>
        </aside>
      </div>
    </>
  );
}

function Decide(props: { app: Application; onChange: () => void }) {
  const { app } = props;
  const me = currentSession()!.user;
  const action = useAction();
  const [reason, setReason] = useState('');
  const [note, setNote] = useState('');
  const codes = useLoad(() => all<ReasonCode>('/reason-codes'), []);
  const done = async (f: () => Promise<unknown>, msg: string) => {
    if (await action.run(f, msg)) {
      forget();
      props.onChange();
    }
  };
  const decide = (decision: string, msg: string) =>
    done(
      () =>
        post(`/applications/${app.id}/decision`, {
          decision,
          ...(reason && decision !== 'approve' ? { reason_code: reason } : {}),
          ...(note.trim() ? { note: note.trim() } : {}),
        }),
      msg,
    );

  let body;
  if (app.status === 'submitted') {
    body = (
      <div class="row">
        <p>{t('Claim this application to decide it.')}</p>
        <button type="button" class="primary" disabled={action.busy} onClick={() => done(() => post(`/applications/${app.id}/claim`), '')}>
          {t('Claim')}
        </button>
      </div>
    );
  } else if (app.status === 'in_review' && (app.reviewer_id === me.id || me.role === 'admin')) {
    const chosen = codes.data?.find((c) => c.code === reason);
    body = (
      <div class="decide">
        <div class="fields">
          <label>
            {t('Reason')}
            <select value={reason} onChange={(e) => setReason(e.currentTarget.value)}>
              <option value="">{t('Choose a reason')}</option>
              {codes.data?.map((c) => (
                <option value={c.code}>{c.title}</option>
              ))}
            </select>
          </label>
          {chosen && (
            <p class="remediation" aria-live="polite">
              <strong>{t('How the brand fixes it')}:</strong> {chosen.remediation}
            </p>
          )}
          <label>
            {t('Note')}
            <textarea rows={3} value={note} onInput={(e) => setNote(e.currentTarget.value)} />
          </label>
        </div>
        <div class="buttons">
          <button type="button" class="approve" disabled={action.busy} onClick={() => decide('approve', t('Application approved.'))}>
            {t('Approve')}
          </button>
          <button type="button" class="danger" disabled={action.busy} onClick={() => decide('reject', t('Decision recorded.'))}>
            {t('Reject')}
          </button>
          <button type="button" class="secondary" disabled={action.busy} onClick={() => decide('request_changes', t('Decision recorded.'))}>
            {t('Request changes')}
          </button>
          <button type="button" class="ghost" disabled={action.busy} onClick={() => done(() => post(`/applications/${app.id}/release`), t('Released to the queue.'))}>
            {t('Release')}
          </button>
        </div>
      </div>
    );
  } else if (app.status === 'in_review') {
    body = <p class="muted">{t('Claimed by another reviewer.')}</p>;
  } else if (app.decision) {
    body = (
      <dl class="facts">
        <dt>{t('Decision')}</dt>
        <dd>
          <Badge value={app.status} /> {app.decision.reason_code ?? ''}
        </dd>
        {app.decision.note && (
          <>
            <dt>{t('Note')}</dt>
            <dd>{app.decision.note}</dd>
          </>
        )}
      </dl>
    );
  }
  return (
    <Card title={t('Decision')} id="decision" class="decision">
      <Alert error={action.error} done={action.done} />
      {body ?? <Badge value={app.status} />}
    </Card>
  );
}

function Img(props: { src?: string; alt: string; class: string }) {
  const [failed, setFailed] = useState(false);
  if (!props.src || failed || !props.src.startsWith('https://'))
    return (
      <div class={`${props.class} placeholder`} role="img" aria-label={`${props.alt}: ${t('Image could not be loaded')}`}>
        <svg viewBox="0 0 24 24" aria-hidden="true">
          <path d="M4 5h16v14H4z M4 15l4-4 4 4 3-3 5 5" fill="none" stroke="currentColor" stroke-width="1.5" />
        </svg>
      </div>
    );
  return <img class={props.class} src={props.src} alt={props.alt} loading="lazy" referrerPolicy="no-referrer" onError={() => setFailed(true)} />;
}

/** The creative as a WeChat Moments ad card would show it. Everything is text, never HTML. */
function AdCard(props: { creative: Creative; brand: string }) {
  const c = props.creative;
  const images = (c.image_urls ?? []).slice(0, 9);
  const cols = images.length === 1 ? 'one' : images.length === 2 || images.length === 4 ? 'two' : 'three';
  return (
    <article class="moment" aria-label={t('Ad preview')}>
      <Img src={c.logo_url} alt={`${props.brand} logo`} class="avatar" />
      <div class="moment-body">
        <div class="moment-name">
          {props.brand} <span class="sponsored">{t('Sponsored')}</span>
        </div>
        <div class="moment-headline">{c.headline ?? t('Not set')}</div>
        {c.body && <p class="moment-text">{c.body}</p>}
        <div class={`moment-images ${cols}`}>
          {images.map((src, i) => (
            <Img src={src} alt={`${i + 1}/${images.length}`} class="moment-img" />
          ))}
        </div>
        <div class="moment-label">
          <span class="tmall" aria-hidden="true">
            天猫
          </span>
          {c.card_label ?? t('Not set')}
          <span class="chev" aria-hidden="true">
            ›
          </span>
        </div>
      </div>
    </article>
  );
}

/** The requested window against the season's run window and its phases. */
function WindowChart(props: { app: Application; season: Season }) {
  const { season } = props;
  const req = props.app.requested_window;
  const zone = season.timezone;
  const ms = (s: string) => new Date(s).getTime();
  const lo = Math.min(ms(season.starts_at), req ? ms(req.starts_at) : Infinity);
  const hi = Math.max(ms(season.ends_at), req ? ms(req.ends_at) : -Infinity);
  const x = (s: string) => 10 + ((ms(s) - lo) / (hi - lo || 1)) * 980;
  const inside = !req || (ms(req.starts_at) >= ms(season.starts_at) && ms(req.ends_at) <= ms(season.ends_at));
  const palette = ['#e0ecff', '#fde8d7', '#e4f4e8', '#f1e6fb'];
  return (
    <>
      <svg class="timeline" viewBox="0 0 1000 150" role="img" aria-label={`${t('Requested window')}: ${req ? `${dateTime(req.starts_at, zone)} – ${dateTime(req.ends_at, zone)}` : t('Not set')}`}>
        <text x="10" y="14" class="tl-label">
          {t('Season run window')} · {season.code}
        </text>
        <rect x={x(season.starts_at)} y="20" width={x(season.ends_at) - x(season.starts_at)} height="26" rx="4" class="tl-season" />
        {season.phases.map((p, i) => (
          <g>
            <rect x={x(p.starts_at)} y="20" width={Math.max(2, x(p.ends_at) - x(p.starts_at))} height="26" rx="3" fill={palette[i % palette.length]} class="tl-phase" />
            <text x={x(p.starts_at) + 6} y="37" class="tl-phase-text">
              {p.name}
            </text>
          </g>
        ))}
        <text x="10" y="72" class="tl-label">
          {t('Requested window')}
        </text>
        {req && <rect x={x(req.starts_at)} y="78" width={Math.max(3, x(req.ends_at) - x(req.starts_at))} height="22" rx="4" class={inside ? 'tl-req' : 'tl-req out'} />}
        <text x={x(season.starts_at)} y="122" class="tl-tick">
          {date(season.starts_at, zone)}
        </text>
        <text x={x(season.ends_at)} y="122" class="tl-tick" text-anchor="end">
          {date(season.ends_at, zone)}
        </text>
        {req && (
          <text x={(x(req.starts_at) + x(req.ends_at)) / 2} y="142" class="tl-tick strong" text-anchor="middle">
            {date(req.starts_at, zone)} – {date(req.ends_at, zone)}
          </text>
        )}
      </svg>
      <dl class="facts inline-facts">
        <dt>{t('Requested window')}</dt>
        <dd>{req ? `${dateTime(req.starts_at, zone)} – ${dateTime(req.ends_at, zone)}` : t('Not set')}</dd>
        <dt>{t('Season run window')}</dt>
        <dd>
          {dateTime(season.starts_at, zone)} – {dateTime(season.ends_at, zone)}
        </dd>
        {season.phases.map((p) => (
          <>
            <dt>{p.name}</dt>
            <dd>
              {dateTime(p.starts_at, zone)} – {dateTime(p.ends_at, zone)}
            </dd>
          </>
        ))}
      </dl>
    </>
  );
}

export function Trail(props: { events: AuditEvent[]; zone: string }) {
  if (props.events.length === 0) return <p class="empty">{t('No events.')}</p>;
  return (
    <table class="grid compact" aria-label={t('Audit trail')}>
      <thead>
        <tr>
          <th scope="col">{t('Time')}</th>
          <th scope="col">{t('Actor')}</th>
          <th scope="col">{t('Action')}</th>
          <th scope="col">{t('Change')}</th>
          <th scope="col">{t('Note')}</th>
        </tr>
      </thead>
      <tbody>
        {props.events.map((e) => (
          <tr>
            <td class="nowrap">{dateTime(e.at, props.zone)}</td>
            <td>
              {e.actor_role ? label(e.actor_role) : 'system'} <span class="id">{e.actor_id?.slice(0, 8) ?? ''}</span>
            </td>
            <td>{e.action}</td>
            <td class="nowrap">{e.from_status || e.to_status ? `${e.from_status ? label(e.from_status) : '∅'} → ${e.to_status ? label(e.to_status) : '∅'}` : ''}</td>
            <td>{e.note ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
