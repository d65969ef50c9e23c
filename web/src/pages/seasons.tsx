import { useEffect, useState } from 'preact/hooks';
import { call } from '../api';
import { DEFAULT_ZONE, dateTime, isoToZoned, validZone, zonedToIso } from '../format';
import { t } from '../i18n';
import { forget, seasonList } from '../lookups';
import { Link, navigate } from '../router';
import { Alert, Badge, Card, Loading, useAction, useLoad } from '../ui';
import type { Season } from '../types';

export function SeasonsPage(props: { admin: boolean }) {
  const list = useLoad(seasonList, []);
  return (
    <>
      <div class="pagehead">
        <h1>{t('Seasons')}</h1>
        {props.admin && (
          <button type="button" class="primary" onClick={() => navigate('/seasons/new')}>
            {t('New season')}
          </button>
        )}
      </div>
      <Card>
        {!list.data ? (
          <Loading error={list.error} />
        ) : (
          <table class="grid" aria-label={t('Seasons')}>
            <thead>
              <tr>
                <th scope="col">{t('Name')}</th>
                <th scope="col">{t('Code')}</th>
                <th scope="col">{t('State')}</th>
                <th scope="col">{t('Applications open')}</th>
                <th scope="col">{t('Season run window')}</th>
                <th scope="col">{t('Time zone')}</th>
                {props.admin && (
                  <th scope="col">
                    <span class="sr-only">{t('Actions')}</span>
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {list.data.map((s) => (
                <tr>
                  <td class="strong">
                    <Link to={`/seasons/${s.id}`}>{s.name}</Link>
                  </td>
                  <td>
                    <code>{s.code}</code>
                  </td>
                  <td>
                    <Badge value={s.state} />
                  </td>
                  <td class="nowrap">
                    {dateTime(s.applications_open_at, s.timezone)} – {dateTime(s.applications_close_at, s.timezone)}
                  </td>
                  <td class="nowrap">
                    {dateTime(s.starts_at, s.timezone)} – {dateTime(s.ends_at, s.timezone)}
                  </td>
                  <td>{s.timezone}</td>
                  {props.admin && (
                    <td class="actions">
                      <button type="button" class="secondary small" aria-label={`${t('Edit')} ${s.code}`} onClick={() => navigate(`/seasons/${s.id}/edit`)}>
                        {t('Edit')}
                      </button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
    </>
  );
}

interface Form {
  code: string;
  name: string;
  timezone: string;
  applications_open_at: string;
  applications_close_at: string;
  starts_at: string;
  ends_at: string;
  phases: { name: string; starts_at: string; ends_at: string }[];
}

const empty: Form = {
  code: '',
  name: '',
  timezone: DEFAULT_ZONE,
  applications_open_at: '',
  applications_close_at: '',
  starts_at: '',
  ends_at: '',
  phases: [],
};

function toForm(s: Season): Form {
  const z = s.timezone;
  return {
    code: s.code,
    name: s.name,
    timezone: z,
    applications_open_at: isoToZoned(s.applications_open_at, z),
    applications_close_at: isoToZoned(s.applications_close_at, z),
    starts_at: isoToZoned(s.starts_at, z),
    ends_at: isoToZoned(s.ends_at, z),
    phases: s.phases.map((p) => ({ name: p.name, starts_at: isoToZoned(p.starts_at, z), ends_at: isoToZoned(p.ends_at, z) })),
  };
}

/** Times are typed as wall times in the season's own time zone and sent as UTC. */
function toBody(f: Form) {
  const z = validZone(f.timezone) ? f.timezone : DEFAULT_ZONE;
  const at = (v: string) => zonedToIso(v, z) || v;
  return {
    code: f.code.trim(),
    name: f.name.trim(),
    timezone: f.timezone.trim(),
    applications_open_at: at(f.applications_open_at),
    applications_close_at: at(f.applications_close_at),
    starts_at: at(f.starts_at),
    ends_at: at(f.ends_at),
    phases: f.phases.map((p) => ({ name: p.name.trim(), starts_at: at(p.starts_at), ends_at: at(p.ends_at) })),
  };
}

export function SeasonEditPage(props: { id?: string }) {
  const [form, setForm] = useState<Form>(empty);
  const [etag, setEtag] = useState<string | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const action = useAction();

  useEffect(() => {
    if (!props.id) return;
    call<Season>('GET', `/seasons/${props.id}`).then(
      ({ data, etag }) => {
        setForm(toForm(data));
        setEtag(etag);
      },
      (e) => setLoadError(String(e.detail ?? e)),
    );
  }, [props.id]);

  if (props.id && !etag) return <Loading error={loadError} />;

  const set = (k: keyof Form, v: string) => setForm({ ...form, [k]: v });
  const setPhase = (i: number, k: 'name' | 'starts_at' | 'ends_at', v: string) =>
    setForm({ ...form, phases: form.phases.map((p, j) => (j === i ? { ...p, [k]: v } : p)) });

  const save = async (e: Event) => {
    e.preventDefault();
    let saved: Season | null = null;
    const ok = await action.run(async () => {
      if (props.id) {
        const r = await call<Season>('PATCH', `/seasons/${props.id}`, { body: toBody(form), ifMatch: etag! });
        saved = r.data;
        setEtag(r.etag);
      } else {
        saved = (await call<Season>('POST', '/seasons', { body: toBody(form) })).data;
      }
    }, t('Saved'));
    if (ok && saved) {
      forget();
      navigate(`/seasons/${(saved as Season).id}`);
    }
  };

  const dt = (label: string, k: keyof Form) => (
    <label>
      {t(label)}
      <input type="datetime-local" required value={form[k] as string} onInput={(e) => set(k, e.currentTarget.value)} />
    </label>
  );

  return (
    <>
      <div class="pagehead">
        <div>
          <p class="crumb">
            <Link to="/seasons">← {t('Seasons')}</Link>
          </p>
          <h1>{props.id ? t('Edit season') : t('New season')}</h1>
        </div>
      </div>
      <form class="card form" onSubmit={save} aria-label={props.id ? t('Edit season') : t('New season')}>
        <Alert error={action.error} done={action.done} />
        <div class="formgrid">
          <label>
            {t('Code')}
            <input required pattern="[a-z0-9-]{2,40}" value={form.code} onInput={(e) => set('code', e.currentTarget.value)} />
          </label>
          <label>
            {t('Name')}
            <input required value={form.name} onInput={(e) => set('name', e.currentTarget.value)} />
          </label>
          <label>
            {t('Time zone')}
            <input required value={form.timezone} onInput={(e) => set('timezone', e.currentTarget.value)} />
          </label>
        </div>
        <p class="muted">
          {t('Times in')} {form.timezone}
        </p>
        <div class="formgrid four">
          {dt('Applications open', 'applications_open_at')}
          {dt('Applications close', 'applications_close_at')}
          {dt('Starts', 'starts_at')}
          {dt('Ends', 'ends_at')}
        </div>
        <fieldset>
          <legend>{t('Phases')}</legend>
          {form.phases.map((p, i) => (
            <div class="phase-row">
              <label>
                {t('Name')}
                <input required value={p.name} onInput={(e) => setPhase(i, 'name', e.currentTarget.value)} />
              </label>
              <label>
                {t('Starts')}
                <input type="datetime-local" required value={p.starts_at} onInput={(e) => setPhase(i, 'starts_at', e.currentTarget.value)} />
              </label>
              <label>
                {t('Ends')}
                <input type="datetime-local" required value={p.ends_at} onInput={(e) => setPhase(i, 'ends_at', e.currentTarget.value)} />
              </label>
              <button
                type="button"
                class="ghost small"
                aria-label={`${t('Remove')} ${p.name || i + 1}`}
                onClick={() => setForm({ ...form, phases: form.phases.filter((_, j) => j !== i) })}
              >
                {t('Remove')}
              </button>
            </div>
          ))}
          <button type="button" class="secondary small" onClick={() => setForm({ ...form, phases: [...form.phases, { name: '', starts_at: '', ends_at: '' }] })}>
            {t('Add phase')}
          </button>
        </fieldset>
        <div class="buttons">
          <button type="submit" class="primary" disabled={action.busy}>
            {props.id ? t('Save') : t('Create')}
          </button>
          <button type="button" class="ghost" onClick={() => navigate('/seasons')}>
            {t('Cancel')}
          </button>
        </div>
      </form>
    </>
  );
}
